/*
 * schema.h - a JSON Schema (draft-07, which yaml-language-server and python3-jsonschema both read) of
 * the YAML experiment language, made from the key tables of dsl/keys.c, so that an editor completes
 * and checks keys and types as `camlab check` does, and cannot fall behind a key added to the tables.
 *
 * The schema checks what the YAML front end checks before validation: keys, aliases given together,
 * value types and ranges. Names (methods, utilities, metrics, layers), files and everything else
 * `experiment_validate` reports are left to `camlab check`; method, utility and metric names are offered
 * as completions, not enforced, since `define` adds names.
 */
#ifndef DSL_SCHEMA_H
#define DSL_SCHEMA_H

struct strbuf;

/* Append the schema, indented JSON ending in a newline, to sb. */
void schema_json(struct strbuf *sb);

#endif
