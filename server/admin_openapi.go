package server

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"unicode"

	"github.com/gofiber/fiber/v2"
)

// The OpenAPI 3.1 document is generated from the route table (a.api) and
// the Go types of each route's request and response, so it cannot drift
// from the handlers; a test checks it against the routes fiber actually
// has, so a handler registered outside the table cannot hide.

func (a *admin) openAPI(c *fiber.Ctx) error {
	doc, err := a.openAPIDocument()
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(doc)
}

func (a *admin) openAPIDocument() ([]byte, error) {
	schemas := map[string]any{}
	errRef := schemaFor(reflect.TypeOf(apiError{}), schemas)
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": errRef}}}
	}
	paths := map[string]map[string]any{}
	for _, r := range a.api {
		op := map[string]any{
			"operationId": operationID(r),
			"summary":     r.Summary,
		}
		responses := map[string]any{}
		success := map[string]any{"description": "success"}
		if r.Response != nil {
			success["content"] = map[string]any{mediaOr(r.ResponseMedia): map[string]any{"schema": schemaFor(reflect.TypeOf(r.Response), schemas)}}
		}
		responses[fmt.Sprint(r.Status)] = success
		var params []any
		for _, p := range r.Params {
			sch := map[string]any{"type": p.Type}
			if p.Format != "" {
				sch["format"] = p.Format
			}
			params = append(params, map[string]any{"name": p.Name, "in": p.In, "required": p.In == "path", "description": p.Description, "schema": sch})
		}
		if r.Idempotent {
			params = append(params, map[string]any{"name": "Idempotency-Key", "in": "header", "required": false,
				"description": "makes a retried create safe: a retry with the same key and body gets the first response again",
				"schema":      map[string]any{"type": "string", "maxLength": maxIdempotencyKey}})
			responses["422"] = errResp("the Idempotency-Key was used for a different request")
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if r.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				mediaOr(r.RequestMedia): map[string]any{"schema": schemaFor(reflect.TypeOf(r.Request), schemas)}}}
			responses["400"] = errResp("the request is invalid; field names what")
			responses["415"] = errResp("the body is not " + mediaOr(r.RequestMedia))
		}
		if r.Public {
			op["security"] = []any{}
		} else {
			op["security"] = []any{map[string]any{"bearer": []any{}}}
			responses["401"] = errResp("no token, or a token that is not valid (mistyped, revoked, owner disabled)")
			if r.Scope != "" {
				op["x-statusd-scope"] = string(r.Scope)
				op["description"] = "Needs a token with the " + string(r.Scope) + " scope."
				responses["403"] = errResp("the token lacks the scope")
			}
		}
		if strings.Contains(r.Path, "{") {
			responses["404"] = errResp("no such resource")
		}
		op["responses"] = responses
		if paths[r.Path] == nil {
			paths[r.Path] = map[string]any{}
		}
		paths[r.Path][strings.ToLower(r.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "statusd admin API", "version": a.srv.opts.Version,
			"description": "Manage a statusd status page. Authenticate with an API token: Authorization: Bearer sdt_…. " +
				"Each endpoint names the scope it needs. Errors are {\"error\": message, \"field\": name}."},
		"servers":    []any{map[string]any{"url": "/api/admin"}},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas, "securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}}},
	}
	return json.MarshalIndent(doc, "", "  ")
}

func mediaOr(m string) string {
	if m == "" {
		return "application/json"
	}
	return m
}

func operationID(r apiRoute) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Method))
	for _, part := range strings.FieldsFunc(r.Path, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}

var (
	rawType = reflect.TypeOf(json.RawMessage{})
)

// schemaFor is the JSON Schema of how encoding/json writes a value of t.
// Named structs go to components.schemas and are referenced.
func schemaFor(t reflect.Type, defs map[string]any) map[string]any {
	switch {
	case t == timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case t == rawType:
		return map[string]any{}
	}
	switch t.Kind() {
	case reflect.Pointer:
		s := schemaFor(t.Elem(), defs)
		if typ, ok := s["type"].(string); ok {
			s["type"] = []any{typ, "null"}
			return s
		}
		return map[string]any{"oneOf": []any{s, map[string]any{"type": "null"}}}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		return map[string]any{"type": "array", "items": schemaFor(t.Elem(), defs)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaFor(t.Elem(), defs)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := schemaName(t)
		ref := map[string]any{"$ref": "#/components/schemas/" + name}
		if _, ok := defs[name]; ok {
			return ref
		}
		defs[name] = nil // a placeholder against recursion
		props := map[string]any{}
		var required []string
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			jname, opts, _ := strings.Cut(tag, ",")
			if jname == "" {
				jname = f.Name
			}
			var s map[string]any
			if f.Tag.Get("openapi") == "any" {
				s = map[string]any{}
			} else {
				s = schemaFor(f.Type, defs)
			}
			props[jname] = s
			if !strings.Contains(opts, "omitempty") {
				required = append(required, jname)
			}
		}
		def := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			def["required"] = required
		}
		defs[name] = def
		return ref
	}
	return map[string]any{}
}

// schemaName turns a Go type name (apiTokenJSON) into a schema name
// (TokenJSON → Token).
func schemaName(t reflect.Type) string {
	n := strings.TrimPrefix(t.Name(), "api")
	n = strings.TrimSuffix(n, "JSON")
	if n == "" {
		return "Object"
	}
	return strings.ToUpper(n[:1]) + n[1:]
}
