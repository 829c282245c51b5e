package v1beta2

import _ "embed"

//go:generate go run ../../hack/configschema v1beta2

// ConfigSchemaURL is the $id of ConfigSchema: the raw URL of
// config.schema.json on the default branch, for a yaml-language-server
// modeline or an editor's schema settings. A breaking change to the config
// gets a new API version and so a new path, never a change under this URL.
const ConfigSchemaURL = "https://raw.githubusercontent.com/fluxcd/flux-mirror/main/api/v1beta2/config.schema.json"

// ConfigSchema is the JSON Schema (draft 2020-12) of a v1beta2 config, made
// from the types and their doc comments by hack/configschema (go generate);
// a test holds it equal to them.
//
//go:embed config.schema.json
var ConfigSchema []byte
