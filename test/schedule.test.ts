import { describe, expect, it } from "vitest";
import { MAX_BATCH_SHARE, nextBatch, samplingNoise, spreadOf, unitSpreads } from "../src/schedule.ts";

const within = () => 0.02;
const lastOf = (rowsAdded: number, meanTvd = 0.01) => ({ rowsAdded, rowsTotal: 100, meanTvd });

describe("nextBatch", () => {
  it("splits the rows left evenly over the iterations left with --schedule even", () => {
    expect(
      nextBatch("even", { rowsAsked: 1000, rowsLeft: 990, iterationsLeft: 99 }, lastOf(10), within),
    ).toBe(10);
    expect(nextBatch("even", { rowsAsked: 1000, rowsLeft: 7, iterationsLeft: 2 }, lastOf(10), within)).toBe(
      4,
    );
  });

  it("starts evenly, then doubles the last batch while the fit is within the noise", () => {
    expect(
      nextBatch("grow", { rowsAsked: 1000, rowsLeft: 1000, iterationsLeft: 100 }, undefined, within),
    ).toBe(10);
    expect(
      nextBatch("grow", { rowsAsked: 1000, rowsLeft: 990, iterationsLeft: 99 }, lastOf(10), within),
    ).toBe(20);
  });

  it("goes back to the even batch after an iteration above the noise or without rows", () => {
    const left = { rowsAsked: 1000, rowsLeft: 970, iterationsLeft: 98 };
    expect(nextBatch("grow", left, lastOf(20, 0.03), within)).toBe(10);
    expect(nextBatch("grow", left, lastOf(0), within)).toBe(10);
    expect(nextBatch("grow", left, lastOf(20, Number.NaN), within)).toBe(10);
  });

  it("never grows past the cap, past the rows left, or below the even share", () => {
    const cap = Math.ceil(1000 * MAX_BATCH_SHARE);
    expect(cap).toBe(63);
    expect(
      nextBatch("grow", { rowsAsked: 1000, rowsLeft: 800, iterationsLeft: 90 }, lastOf(50), within),
    ).toBe(cap);
    expect(nextBatch("grow", { rowsAsked: 1000, rowsLeft: 30, iterationsLeft: 80 }, lastOf(50), within)).toBe(
      30,
    );
    // Few iterations left: the even share is above the cap, and the run still ends within --iterations.
    expect(nextBatch("grow", { rowsAsked: 1000, rowsLeft: 600, iterationsLeft: 3 }, lastOf(50), within)).toBe(
      200,
    );
  });
});

describe("sampling noise", () => {
  it("is 1/2 of the sum of sqrt(2 p (1 - p) / (pi n)) over the cells, averaged over the units", () => {
    // Two cells of 1/2: spread 2 * sqrt(1/4) = 1; one cell: spread 0. Mean spread 1/2.
    expect(spreadOf([5, 5])).toBe(1);
    expect(spreadOf([7])).toBe(0);
    expect(spreadOf([])).toBe(0);
    expect(samplingNoise([1, 0], 100)).toBeCloseTo(0.5 / Math.sqrt(200 * Math.PI), 15);
    // One cell of two: 1/2 * (2 * sqrt(2 * 1/4 / (pi * 100))) = sqrt(1 / (200 pi)).
    expect(samplingNoise([1], 100)).toBeCloseTo(Math.sqrt(1 / (200 * Math.PI)), 15);
    expect(samplingNoise([], 100)).toBe(0);
    expect(samplingNoise([1], 0)).toBe(0);
  });

  it("takes each unit's real counts from the gap rows, 0 for a unit without any", () => {
    const rows = [
      { unit: "a", real_n: 5 },
      { unit: "b", real_n: 3 },
      { unit: "a", real_n: 5 },
    ];
    expect(unitSpreads(rows, ["a", "b", "c"])).toEqual([1, 0, 0]);
  });
});
