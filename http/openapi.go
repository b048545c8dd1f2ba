package http

import _ "embed"

// openAPIDoc describes the native /v1 API (OpenAPI 3.1), served at
// /v1/openapi.json. A test checks that it names every native route.
//
//go:embed openapi.json
var openAPIDoc []byte
