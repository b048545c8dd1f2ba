module github.com/shelfmem/shelf

go 1.26.8

require (
	github.com/google/uuid v1.6.0
	github.com/mattn/go-sqlite3 v1.14.32
	golang.org/x/text v0.31.0
)

require (
	github.com/evanphx/json-patch/v5 v5.9.11
	github.com/ledongthuc/pdf v0.0.0-20260907135840-6c8c28e0e8a0
	golang.org/x/net v0.47.0
)

require github.com/kljensen/snowball v0.10.0

require golang.org/x/time v0.16.0

require github.com/bmatcuk/doublestar/v4 v4.10.4
