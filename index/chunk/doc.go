// Package chunk splits an extracted document (extract.Doc) into pieces
// sized for keyword search and embedding, following the document's
// structure.
//
// Rules, all deterministic:
//
//   - Sizes are counted in runes (Unicode code points), not bytes or
//     model tokens; 1000 runes is roughly 200–300 tokens of English.
//   - A heading starts a new chunk; the path of headings in effect
//     ("Intro > Setup") is the chunk's Heading. Consecutive headings stay
//     together with the text that follows them.
//   - A chunk never spans two pages (PDF page, slide, sheet).
//   - Blocks (paragraphs, list items, table rows) are packed whole until
//     the next one would pass the target. A block longer than the target is
//     cut at sentence ends, else at white space, else (one word longer than
//     the target) at a rune boundary.
//   - A chunk that continues the previous one (same page and section)
//     starts with the previous chunk's last Overlap runes or so, cut at a
//     word start; the overlap counts towards the target, so no chunk is
//     longer than the target unless one word is.
//   - Chunk.Text is exactly Doc.Text[Start:End], so a hit points back at
//     the source.
//
// The package does no I/O and never fails: blocks whose offsets do not
// fit the text are skipped.
package chunk
