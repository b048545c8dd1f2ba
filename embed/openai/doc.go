// Package openai implements shelf.Embedder against any server that speaks
// the OpenAI embeddings wire format: OpenAI itself, Ollama (/v1), vLLM,
// LM Studio, llama.cpp's server and HuggingFace TEI (its /v1 route).
//
// It sends POST {BaseURL}/embeddings with
//
//	{"model": "...", "input": ["...", ...], "encoding_format": "float", "dimensions": N}
//
// ("dimensions" only when configured) and reads
//
//	{"object": "list", "data": [{"object": "embedding", "index": i, "embedding": [...]}], ...}
//
// putting the vectors back in input order by their index (servers may
// answer out of order). An embedding given as a base64 string (little-endian
// float32, what encoding_format "base64" returns) is accepted too.
//
// Embed splits its texts into batches (Config.BatchSize texts and at most
// Config.BatchChars characters each), sends them with at most
// Config.Concurrency requests in flight, retries 408, 429, 5xx answers and
// network errors with exponential backoff and jitter (honouring
// Retry-After), and checks every answer: one vector per text, every vector
// of the same length, that length equal to the configured or first learned
// dimension, no NaN or Inf.
//
// The endpoint is operator configuration (a flag or the environment read by
// cmd/shelf), never user input, so requests go through a plain http.Client
// and not through the SSRF-checked fetcher of package fetch: an operator may
// well point Shelf at an embedder on localhost or a private network.
//
// What it must not do: send a user's text anywhere but the configured
// endpoint, log or return the API key, return a partial or reordered result,
// hold an unbounded answer in memory (Config.MaxResponseBytes), or retry a
// request the server refused as invalid.
package openai
