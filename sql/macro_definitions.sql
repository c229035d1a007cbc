-- The synthor macros one database holds, with what defines each (`synthor macros --install` compares
-- those of a database file with the ones it would create: another definition is another version, or
-- someone else's macro of the same name). Temporary macros are in the database `temp`.
select function_name as name, function_type as type, parameters, macro_definition as definition
from duckdb_functions()
where database_name = $database
  and schema_name = 'main'
  and function_type in ('macro', 'table_macro')
  and starts_with(function_name, 'synthor_')
order by name, len(parameters), parameters::varchar, definition;
