package vector

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDot checks the dot product (the assembly one where it runs) against
// float64 arithmetic for every length up to 70 and a few large ones, on
// unaligned slices too.
func TestDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range append(seq(70), 383, 384, 385, 1536) {
		a := make([]float32, n+1)
		b := make([]float32, n+1)
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		for off := range 2 {
			x, y := a[off:off+n], b[off:off+n]
			var want float64
			for i := range x {
				want += float64(x[i]) * float64(y[i])
			}
			for name, got := range map[string]float32{"dot": dot(x, y), "dotGo": dotGo(x, y)} {
				if math.Abs(float64(got)-want) > 1e-4*math.Sqrt(float64(n)+1) {
					t.Fatalf("%s of length %d (offset %d) = %v, want %v", name, n, off, got, want)
				}
			}
		}
	}
	t.Logf("assembly in use: %v", useAVX2)
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func BenchmarkDot384(b *testing.B) {
	x, y := make([]float32, 384), make([]float32, 384)
	for i := range x {
		x[i], y[i] = float32(i), float32(384-i)
	}
	var s float32
	for b.Loop() {
		s += dot(x, y)
	}
	_ = s
}

func BenchmarkDotGo384(b *testing.B) {
	x, y := make([]float32, 384), make([]float32, 384)
	var s float32
	for b.Loop() {
		s += dotGo(x, y)
	}
	_ = s
}
