package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/shelfmem/shelf/bench/internal/harness"
)

// The targets of the issue, checked by report.
const (
	minVsCeiling  = 0.8
	minVsTusd     = 1.3
	finalizeSlack = time.Second
	maxRSSGrowth  = 64 << 20
)

// mbps is a throughput in MB/s (10^6 bytes per second).
func mbps(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / 1e6 / d.Seconds()
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }

func verdict(ok bool) string {
	if ok {
		return "**PASS**"
	}
	return "**FAIL**"
}

// printRun writes one run's figures as a line of progress.
func printRun(w io.Writer, i int, r runResult, c config) {
	fmt.Fprintf(w, "  run %d:", i+1)
	if c.ceiling {
		fmt.Fprintf(w, " ceiling %.0f MB/s,", mbps(c.size, r.ceiling.parts))
	}
	if c.ceiling1 {
		fmt.Fprintf(w, " 1 stream %.0f MB/s,", mbps(c.size, r.ceiling1.parts))
	}
	fmt.Fprintf(w, " shelf %.0f MB/s + finalize %s (total %s, peak-idle %s), sha256 pass %s",
		mbps(c.size, r.shelf.parts), secs(r.shelf.finalize), secs(r.shelf.total), harness.MiB(r.shelf.peak-r.shelf.idle), secs(r.sumHot))
	if c.tusd != "" {
		fmt.Fprintf(w, ", tusd %.0f MB/s + concat %s (total %s)", mbps(c.size, r.tusd.parts), secs(r.tusd.concat), secs(r.tusd.total))
	}
	fmt.Fprintln(w)
}

// report writes the per-run figures, the medians and the targets as
// Markdown.
func report(w io.Writer, runs []runResult, c config) {
	n := c.size
	col := func(f func(r runResult) float64) []float64 {
		xs := make([]float64, len(runs))
		for i, r := range runs {
			xs[i] = f(r)
		}
		return xs
	}
	med := func(f func(r runResult) float64) float64 { return harness.Median(col(f)) }
	sec := func(f func(r runResult) time.Duration) func(r runResult) float64 {
		return func(r runResult) float64 { return f(r).Seconds() }
	}
	rate := func(f func(r runResult) time.Duration) func(r runResult) float64 {
		return func(r runResult) float64 { return mbps(n, f(r)) }
	}

	// The servers measured, as columns.
	type server struct {
		name string
		ph   func(r runResult) phase
	}
	var servers []server
	if c.ceiling {
		servers = append(servers, server{fmt.Sprintf("ceiling (%d streams)", c.streams), func(r runResult) phase { return r.ceiling }})
	}
	if c.ceiling1 {
		servers = append(servers, server{"ceiling (1 stream)", func(r runResult) phase { return r.ceiling1 }})
	}
	servers = append(servers, server{"Shelf", func(r runResult) phase { return r.shelf.phase }})
	if c.tusd != "" {
		servers = append(servers, server{"tusd v2.10.0", func(r runResult) phase { return r.tusd.phase }})
	}
	isShelf := func(s server) bool { return s.name == "Shelf" }
	isTusd := func(s server) bool { return strings.HasPrefix(s.name, "tusd") }

	fmt.Fprintf(w, "## Per run\n\n")
	fmt.Fprintf(w, "Part-phase throughput in MB/s (10^6 bytes/s); times in seconds. The last column is the highest CPU use of the whole machine in the second before a phase started (other people's work; the benchmark waits up to %s for it to fall under %.0f%%).\n\n", c.wait, 100*c.idle)
	head := []string{"run"}
	for _, sv := range servers {
		head = append(head, sv.name)
	}
	head = append(head, "Shelf finalize", "Shelf total")
	if c.tusd != "" {
		head = append(head, "tusd concat", "tusd total")
	}
	head = append(head, "sha256 pass (cached)", "sha256 pass (disk)", "Shelf peak−idle", "CPU busy before a phase")
	row(w, head...)
	rule(w, len(head))
	for i, r := range runs {
		cells := []string{fmt.Sprint(i + 1)}
		for _, sv := range servers {
			cells = append(cells, fmt.Sprintf("%.0f", mbps(n, sv.ph(r).parts)))
		}
		cells = append(cells, fmt.Sprintf("%.2f", r.shelf.finalize.Seconds()), fmt.Sprintf("%.2f", r.shelf.total.Seconds()))
		if c.tusd != "" {
			cells = append(cells, fmt.Sprintf("%.2f", r.tusd.concat.Seconds()), fmt.Sprintf("%.2f", r.tusd.total.Seconds()))
		}
		cold := "—"
		if r.sumCold > 0 {
			cold = fmt.Sprintf("%.2f", r.sumCold.Seconds())
		}
		cells = append(cells, fmt.Sprintf("%.2f", r.sumHot.Seconds()), cold, harness.MiB(r.shelf.peak-r.shelf.idle), fmt.Sprintf("≤ %.0f%%", 100*r.busy))
		row(w, cells...)
	}

	fmt.Fprintf(w, "\n## Medians of %d runs\n\n", len(runs))
	head = []string{""}
	for _, sv := range servers {
		head = append(head, sv.name)
	}
	row(w, head...)
	rule(w, len(head))
	line := func(name string, cell func(sv server) string) {
		cells := []string{name}
		for _, sv := range servers {
			cells = append(cells, cell(sv))
		}
		row(w, cells...)
	}
	phaseCell := func(f func(r runResult) time.Duration) string {
		return fmt.Sprintf("%.2f s, %.0f MB/s", med(sec(f)), med(rate(f)))
	}
	mem := func(f func(ph phase) int64) func(sv server) string {
		return func(sv server) string {
			return harness.MiB(int64(med(func(r runResult) float64 { return float64(f(sv.ph(r))) })))
		}
	}
	line("part phase (every part stored)", func(sv server) string {
		s := phaseCell(func(r runResult) time.Duration { return sv.ph(r).parts })
		if isTusd(sv) {
			s += " (create + PATCH)"
		}
		return s
	})
	line("server CPU in the part phase", func(sv server) string {
		return fmt.Sprintf("%.2f s", med(sec(func(r runResult) time.Duration { return sv.ph(r).serverCPU })))
	})
	line("client CPU in the part phase", func(sv server) string {
		return fmt.Sprintf("%.2f s", med(sec(func(r runResult) time.Duration { return sv.ph(r).clientCPU })))
	})
	line("finalize / concatenation", func(sv server) string {
		switch {
		case isShelf(sv):
			return fmt.Sprintf("%.2f s (server CPU %.2f s)", med(sec(func(r runResult) time.Duration { return r.shelf.finalize })),
				med(sec(func(r runResult) time.Duration { return r.shelf.finalizeCPU })))
		case isTusd(sv):
			return fmt.Sprintf("%.2f s", med(sec(func(r runResult) time.Duration { return r.tusd.concat })))
		}
		return "—"
	})
	line("end to end (file complete)", func(sv server) string {
		switch {
		case isShelf(sv):
			return phaseCell(func(r runResult) time.Duration { return r.shelf.total }) + " (create + parts + finalize)"
		case isTusd(sv):
			return phaseCell(func(r runResult) time.Duration { return r.tusd.total })
		}
		return "—"
	})
	line("idle RSS", mem(func(ph phase) int64 { return ph.idle }))
	line("peak RSS (VmHWM)", mem(func(ph phase) int64 { return ph.peak }))
	line("peak − idle", mem(func(ph phase) int64 { return ph.peak - ph.idle }))

	hot := med(sec(func(r runResult) time.Duration { return r.sumHot }))
	fmt.Fprintf(w, "\nOne sha256 pass (read + hash) over the stored file: %.2f s from the page cache", hot)
	if cold := med(sec(func(r runResult) time.Duration { return r.sumCold })); cold > 0 {
		fmt.Fprintf(w, ", %.2f s from disk after dropping the cache", cold)
	}
	fmt.Fprintf(w, " (median).\n")

	if len(c.variants) > 0 {
		fmt.Fprintf(w, "\n## What the gap is made of\n\n")
		fmt.Fprintf(w, "Bench-only variants of the ceiling handler, each adding a piece of Shelf's per-part work (%d streams, medians):\n\n", c.streams)
		row(w, "variant", "part phase", "vs ceiling", "server CPU")
		rule(w, 4)
		show := func(name string, f func(r runResult) phase) {
			t := med(sec(func(r runResult) time.Duration { return f(r).parts }))
			vs := med(func(r runResult) float64 { return mbps(n, f(r).parts) / mbps(n, r.ceiling.parts) })
			cpu := med(sec(func(r runResult) time.Duration { return f(r).serverCPU }))
			row(w, name, fmt.Sprintf("%.2f s, %.0f MB/s", t, med(rate(func(r runResult) time.Duration { return f(r).parts }))), fmt.Sprintf("%.2f×", vs), fmt.Sprintf("%.2f s", cpu))
		}
		show("ceiling: ftruncate, write, fsync", func(r runResult) phase { return r.ceiling })
		for j, mode := range c.variants {
			show("ceiling + "+describeVariant(mode), func(r runResult) phase { return r.variants[j] })
		}
		show("Shelf", func(r runResult) phase { return r.shelf.phase })
	}

	fmt.Fprintf(w, "\n## Targets\n\n")
	fmt.Fprintf(w, "Ratios are the median of the per-run ratios (each run measures every server back to back).\n\n")
	row(w, "target", "measured", "result")
	row(w, "---", "---", "---")
	if c.ceiling {
		vs := med(func(r runResult) float64 { return mbps(n, r.shelf.parts) / mbps(n, r.ceiling.parts) })
		row(w, fmt.Sprintf("Shelf part throughput ≥ %.1f× the ceiling (%d streams each)", minVsCeiling, c.streams),
			fmt.Sprintf("%.2f×", vs), verdict(vs >= minVsCeiling))
	} else {
		row(w, fmt.Sprintf("Shelf part throughput ≥ %.1f× the ceiling", minVsCeiling), "ceiling not run", "not measured")
	}
	if c.tusd != "" {
		vs := med(func(r runResult) float64 { return mbps(n, r.shelf.parts) / mbps(n, r.tusd.total) })
		row(w, fmt.Sprintf("Shelf part throughput ≥ %.1f× tusd (tusd timed through its concatenation)", minVsTusd),
			fmt.Sprintf("%.2f×", vs), verdict(vs >= minVsTusd))
		e2e := med(func(r runResult) float64 { return mbps(n, r.shelf.total) / mbps(n, r.tusd.total) })
		row(w, fmt.Sprintf("same, end to end: Shelf create + parts + finalize vs tusd create + PATCH + concatenation (≥ %.1f×)", minVsTusd),
			fmt.Sprintf("%.2f×", e2e), verdict(e2e >= minVsTusd))
		parts := med(func(r runResult) float64 { return mbps(n, r.shelf.parts) / mbps(n, r.tusd.parts) })
		row(w, "(for reference) part phase vs part phase, no target", fmt.Sprintf("%.2f×", parts), "—")
	} else {
		row(w, fmt.Sprintf("Shelf part throughput ≥ %.1f× tusd", minVsTusd), "tusd not run", "not measured")
	}
	fin := med(sec(func(r runResult) time.Duration { return r.shelf.finalize }))
	row(w, "finalize < one sha256 pass + 1 s (no second copy)",
		fmt.Sprintf("%.2f s vs %.2f s + 1 s = %.2f s", fin, hot, hot+finalizeSlack.Seconds()), verdict(fin < hot+finalizeSlack.Seconds()))
	grow := slices.Max(col(func(r runResult) float64 { return float64(r.shelf.peak - r.shelf.idle) }))
	row(w, "Shelf peak RSS ≤ idle + 64 MiB (worst run)", "+"+harness.MiB(int64(grow)), verdict(grow <= maxRSSGrowth))
}

func row(w io.Writer, cells ...string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
}

func rule(w io.Writer, n int) {
	row(w, strings.Split(strings.Repeat("---,", n), ",")[:n]...)
}

// describeVariant spells out a -decompose variant.
func describeVariant(mode string) string {
	var parts []string
	for m := range strings.SplitSeq(mode, "+") {
		switch m {
		case "hash":
			parts = append(parts, "sha256 per part")
		case "db":
			parts = append(parts, "a SQLite commit per part")
		case "falloc":
			parts = append(parts, "fallocate instead of ftruncate")
		case "crc":
			parts = append(parts, "CRC-32C per part")
		case "nosync":
			parts = append(parts, "no fsync per part")
		default:
			parts = append(parts, m)
		}
	}
	return strings.Join(parts, " + ")
}
