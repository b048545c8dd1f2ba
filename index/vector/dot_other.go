//go:build !amd64 || purego

package vector

// dot returns the dot product of a and b (len(b) ≥ len(a)), the cosine
// similarity of two normalised vectors.
func dot(a, b []float32) float32 { return dotGo(a, b) }

// useAVX2 is false: there is no assembly version here.
const useAVX2 = false
