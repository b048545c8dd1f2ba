// Package extract turns the bytes of a stored file into text with its
// structure: headings, paragraphs, list items, code, table rows and pages.
// Its output feeds chunking (package index/chunk), keyword search and
// embedding.
//
// Every input is untrusted. Extract bounds what a file can cost: input
// size, output size, zip entries and their real (not declared) uncompressed
// size and compression ratio, XML/JSON/HTML nesting depth, parser tokens,
// PDF pages and wall time, and what a parser holds of one token (see
// Limits). A limit that is hit fails the whole
// extraction with shelf.ETOOLARGE rather than returning a silently
// truncated document; a malformed file gives shelf.EINVALID, a type it
// cannot read shelf.ENOTIMPL, and a deadline shelf.ETIMEOUT. Panics inside
// third-party parsers are recovered into shelf.EINVALID.
//
// Formats and the libraries used:
//
//   - plain text, Markdown, CSV/TSV, JSON and JSON Lines: the standard
//     library, read as streams.
//   - HTML: golang.org/x/net/html's tokenizer (streaming, so a large page
//     never becomes a tree in memory); script, style and similar are dropped.
//   - DOCX, XLSX, PPTX: archive/zip and the encoding/xml streaming decoder,
//     which never expands DTD entities, so no "billion laughs".
//   - PDF: github.com/ledongthuc/pdf, a maintained fork of rsc.io/pdf. It is
//     pure Go, small (no image or font stack), decodes fonts' ToUnicode
//     maps and standard encodings, and exposes its content-stream
//     interpreter, so this package walks pages and text operators itself
//     and can check the context, the output size and an operator budget as
//     it goes. rsc.io/pdf is unmaintained since 2014; pdfcpu is well kept
//     but validates and edits PDFs rather than extracting text, and pulls
//     in a much larger dependency tree. Because the library is not hardened
//     against hostile files, every read it makes goes through a reader that
//     aborts it once the deadline passes or a read budget is spent, the
//     page tree is walked here with depth and node bounds, content streams
//     are measured and tokenized before they are interpreted (operands
//     waiting for an operator, nesting, a stream ending in a hex string),
//     the cross-reference chain is read beforehand for object numbers
//     that would make the library allocate gigabytes, and the object table
//     is checked for object-stream cycles (on which the library would
//     recurse without end).
//
// The package does no I/O of its own beyond the io.ReaderAt it is given and
// keeps no global state.
package extract
