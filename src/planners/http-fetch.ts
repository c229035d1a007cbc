import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";

/**
 * A `fetch` over node:http(s) with no time limit of its own: the caller's AbortSignal is the only one.
 *
 * Node's global fetch (undici) gives up after 300 s without response headers, and after 300 s without
 * a byte of the body, whatever the caller asked for; the `openai` package's own timeout covers the
 * headers only. An OpenAI-compatible server answers a non-streamed chat completion only once the whole
 * reply is generated, which on a CPU can take longer than 300 s: with Node's fetch `--timeout 600` ended
 * at 300 s and the request was sent again while the server still computed the first. With this fetch,
 * the caller's signal (fired by `--timeout`, or Ctrl-C) ends the request, headers or body, and closes
 * the connection, which tells the server to stop (llama.cpp's server cancels the task).
 *
 * What the `openai` package sends: a string or bytes body, a Headers object; no redirects are followed
 * (OpenAI-compatible APIs do not redirect) and no proxy is used (Node's fetch uses none either).
 */
export const nodeHttpFetch: typeof fetch = (input, init = {}) =>
  new Promise<Response>((resolve, reject) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const signal = init.signal ?? undefined;
    if (signal?.aborted) {
      reject(abortError(signal));
      return;
    }
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const body = bodyBytes(init.body);
    if (body !== undefined) headers["content-length"] = String(body.byteLength);
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const req = send(url, { method: init.method ?? "GET", headers });
    let response: IncomingMessage | undefined;
    const onAbort = () => {
      const err = abortError(signal as AbortSignal);
      response?.destroy(err);
      req.destroy(err);
      reject(err);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => signal?.removeEventListener("abort", onAbort);
    req.on("error", (err) => {
      done();
      // As undici does: a TypeError whose cause is the socket's error (ECONNREFUSED, ...).
      reject(Object.assign(new TypeError("fetch failed"), { cause: err }));
    });
    req.on("response", (res: IncomingMessage) => {
      response = res;
      const status = res.statusCode ?? 0;
      const responseHeaders = new Headers();
      for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
        responseHeaders.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
      }
      // Until the body ends, the signal still ends it (a server that sends headers, then stalls).
      res.on("end", done);
      res.on("close", done);
      const stream = decoded(res);
      resolve(
        new Response(
          NULL_BODY.has(status) || init.method === "HEAD"
            ? null
            : (Readable.toWeb(stream) as ReadableStream<Uint8Array>),
          { status, statusText: res.statusMessage ?? "", headers: responseHeaders },
        ),
      );
    });
    req.end(body);
  });

/** Statuses whose response has no body (a Response with one throws). */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function bodyBytes(body: RequestInit["body"]): Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError("nodeHttpFetch sends string and byte bodies only");
}

/** The body as sent, or decompressed (nothing asks for compression, but a server may compress anyway). */
function decoded(res: IncomingMessage): Readable {
  const encoding = (res.headers["content-encoding"] ?? "").toLowerCase().trim();
  const decoder =
    encoding === "gzip" || encoding === "x-gzip"
      ? createGunzip()
      : encoding === "deflate"
        ? createInflate()
        : encoding === "br"
          ? createBrotliDecompress()
          : undefined;
  if (!decoder) return res;
  res.on("error", (err) => decoder.destroy(err));
  return res.pipe(decoder);
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new DOMException("This operation was aborted", "AbortError"), {
    cause: signal.reason,
  });
}
