"""The API as a Swagger 2.0 document, for importers that take no OpenAPI 3 (Power Automate's
"Import an OpenAPI file" custom connectors, for one).

Written by hand because it only has to cover what FastAPI emits for this API: component
schemas, JSON request bodies, JSON responses, query/path parameters and a bearer key.
"""

from __future__ import annotations

from typing import Any

_REF_3 = "#/components/schemas/"
_REF_2 = "#/definitions/"


def _schema(node: Any) -> Any:
    """A 3.1 JSON schema as a 2.0 one: refs moved, nullables marked, one alternative kept."""
    if isinstance(node, list):
        return [_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    for key in ("anyOf", "oneOf"):
        if key in node:
            alternatives = node.pop(key)
            options = [o for o in alternatives if o.get("type") != "null"]
            chosen = options[0] if options else {"type": "string"}
            merged = {**_schema(chosen), **node}
            if len(options) < len(alternatives):
                merged["x-nullable"] = True
            if merged.get("type") == "array" and "minLength" in merged:
                merged["minItems"] = merged.pop("minLength")  # a bound set on the union
            return _schema(merged)
    if "$ref" in node:
        return {"$ref": node["$ref"].replace(_REF_3, _REF_2)}
    if "examples" in node and isinstance(node["examples"], list):
        examples = node.pop("examples")
        if examples:
            node["example"] = examples[0]
    node.pop("const", None)
    return {key: _schema(value) for key, value in node.items()}


def _parameter(parameter: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """A query or path parameter: 2.0 wants its type inline (no $ref to a schema)."""
    converted = {k: v for k, v in parameter.items() if k not in ("schema", "example", "examples")}
    schema = _schema(parameter.get("schema", {"type": "string"}))
    if "$ref" in schema:
        schema = {**definitions[schema.pop("$ref").removeprefix(_REF_2)], **schema}
    schema.pop("title", None)
    schema.pop("description", None)
    converted.update({k: v for k, v in schema.items() if k != "x-nullable"})
    converted.setdefault("type", "string")
    return converted


def _response(response: dict[str, Any]) -> dict[str, Any]:
    converted: dict[str, Any] = {"description": response.get("description") or "Answer"}
    content = response.get("content", {}).get("application/json")
    if content and "schema" in content:
        converted["schema"] = _schema(content["schema"])
    return converted


def swagger2(openapi: dict[str, Any], host: str, scheme: str) -> dict[str, Any]:
    definitions = {
        name: _schema(schema)
        for name, schema in openapi.get("components", {}).get("schemas", {}).items()
    }
    paths: dict[str, Any] = {}
    for path, operations in openapi.get("paths", {}).items():
        paths[path] = {}
        for method, operation in operations.items():
            converted = {
                k: v for k, v in operation.items() if k in ("operationId", "summary", "description")
            }
            converted["produces"] = ["application/json"]
            parameters = [_parameter(p, definitions) for p in operation.get("parameters", [])]
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                converted["consumes"] = ["application/json"]
                parameters.append(
                    {
                        "name": "body",
                        "in": "body",
                        "required": True,
                        "schema": _schema(body["schema"]),
                    }
                )
            if parameters:
                converted["parameters"] = parameters
            converted["responses"] = {
                code: _response(answer) for code, answer in operation.get("responses", {}).items()
            }
            if operation.get("security"):
                converted["security"] = [{"api_key": []}]
            paths[path][method] = converted
    return {
        "swagger": "2.0",
        "info": openapi["info"],
        "host": host,
        "basePath": "/",
        "schemes": [scheme],
        "consumes": ["application/json"],
        "produces": ["application/json"],
        "paths": paths,
        "definitions": definitions,
        "securityDefinitions": {
            "api_key": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "Bearer KEY, with a key from SMSGATE_API_KEYS",
            }
        },
    }
