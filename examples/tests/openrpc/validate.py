"""Validates an OpenRPC document (read from stdin) against openrpc-1.3.schema.json.

Prints "valid" and exits 0, or prints every problem and exits 1. Beyond the JSON Schema,
checks what a schema cannot say: method names are unique, and every content descriptor's
schema is itself a valid draft-07 schema.
"""
import json
import pathlib
import sys

import jsonschema

here = pathlib.Path(__file__).parent
meta = json.loads((here / "openrpc-1.3.schema.json").read_text())
jsonschema.Draft7Validator.check_schema(meta)
doc = json.load(sys.stdin)
problems = [
    f"{'/'.join(map(str, e.absolute_path)) or '(document)'}: {e.message}"
    for e in jsonschema.Draft7Validator(meta).iter_errors(doc)
]
names = [m.get("name") for m in doc.get("methods", []) if isinstance(m, dict)]
problems += [f"method name {n!r} is not unique" for n in sorted({n for n in names if names.count(n) > 1})]
if not problems:
    for m in doc["methods"]:
        for cd in m.get("params", []) + ([m["result"]] if "result" in m else []):
            try:
                jsonschema.Draft7Validator.check_schema(cd["schema"])
            except jsonschema.SchemaError as e:
                problems.append(f"{m['name']}/{cd['name']}: not a draft-07 schema: {e.message}")
if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"valid ({len(names)} methods)")
