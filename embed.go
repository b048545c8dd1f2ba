package shelf

import "context"

// Embedder turns texts into vectors for vector search. Implementations
// (embed/openai, …) are safe for concurrent use.
//
// Errors carry shelf codes: EINVALID when the embedder refuses the input
// (too many texts, a text too long for the model) or the texts cannot be
// embedded as given; EUNAVAILABLE when the embedding service is down,
// overloaded after retries, misconfigured or rejects the credentials;
// ETIMEOUT when it did not answer in time. A context that ends returns its
// error. Embed never returns a partial result: either one vector per text,
// or an error.
type Embedder interface {
	// Embed returns one vector per text, in the order of texts, all of
	// length Dimensions() and free of NaN and Inf. An empty texts gives
	// an empty result and no error.
	Embed(ctx context.Context, texts []string) ([][]float32, error)

	// Model names the model, as stored beside each vector, so vectors of
	// different models are never compared.
	Model() string

	// Dimensions is the length of the vectors Embed returns: the configured
	// value, or, when none was configured, the length learned from the first
	// successful Embed (0 until then).
	Dimensions() int
}
