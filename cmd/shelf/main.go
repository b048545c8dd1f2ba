// Command shelf runs the Shelf server and its admin commands. It is the
// only place that reads flags and the environment and picks adapters.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only with --debug-addr
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/blob/fsblob"
	"github.com/shelfmem/shelf/embed/openai"
	"github.com/shelfmem/shelf/fetch"
	shelfhttp "github.com/shelfmem/shelf/http"
	"github.com/shelfmem/shelf/http/chatbotkit"
	"github.com/shelfmem/shelf/http/informer"
	"github.com/shelfmem/shelf/http/memoryinc"
	"github.com/shelfmem/shelf/http/memorylake"
	"github.com/shelfmem/shelf/index/chunk"
	"github.com/shelfmem/shelf/index/isolate"
	"github.com/shelfmem/shelf/index/search"
	"github.com/shelfmem/shelf/internal/diskspace"
	"github.com/shelfmem/shelf/library"
	"github.com/shelfmem/shelf/store/sqlite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "shelf:", err)
		os.Exit(1)
	}
}

const usage = `Shelf: a self-hosted memory library for AI applications.

Usage:
  shelf serve  [--addr 127.0.0.1:8080] [--data ./shelf-data] [flags]
  shelf keys create [--data DIR] [--workspace ID] --name NAME --scopes read,write,admin [--expires-at RFC3339]
                    [--rate-limit N --rate-burst B]
  shelf keys list   [--data DIR] [--workspace ID]
  shelf keys rotate [--data DIR] [--workspace ID] KEY_ID
  shelf keys limit  [--data DIR] --rate-limit N|0|default [--rate-burst B] KEY_ID
  shelf keys revoke [--data DIR] KEY_ID
  shelf workspaces create [--data DIR] NAME
  shelf fsck [--data DIR] [--deep]

Environment:
  SHELF_MASTER_KEY  the admin key, at least 32 characters; when unset on the
                    first start one is generated and printed once
  SHELF_FETCH_ALLOW comma-separated CIDRs or host names the server may fetch
                    from although they are internal (for tests and labs)
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "keys":
		return keys(ctx, args[1:], getenv, stdout)
	case "workspaces":
		return workspaces(ctx, args[1:], getenv, stdout)
	case "fsck":
		return fsck(ctx, args[1:], getenv, stdout)
	case "extract-worker":
		// Not in the usage: the server starts it (index/isolate).
		return extractWorker(args[1:], os.Stdin, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// backend is an opened store, blob store and core.
type backend struct {
	store shelf.Store
	db    *sqlite.Store // the same store, for what only SQLite has
	blobs shelf.BlobStore
	svc   *library.Service
	close func()
}

// openBackend opens the embedded defaults under dataDir: SQLite and the
// local content-addressed blob store, which syncs each part as it arrives
// when syncParts is set.
func openBackend(ctx context.Context, dataDir string, cfg library.Config, syncParts bool) (*backend, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	st, err := sqlite.Open(filepath.Join(dataDir, "shelf.db"))
	if err != nil {
		return nil, err
	}
	blobs, err := fsblob.Open(filepath.Join(dataDir, "blobs"))
	if err != nil {
		st.Close()
		return nil, err
	}
	blobs.SyncParts = syncParts
	svc, err := library.Open(ctx, st, blobs, cfg)
	if err != nil {
		blobs.Close()
		st.Close()
		return nil, err
	}
	return &backend{store: st, db: st, blobs: blobs, svc: svc, close: func() { blobs.Close(); st.Close() }}, nil
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on")
	data := fs.String("data", "./shelf-data", "data directory")
	publicURL := fs.String("public-url", "", "scheme://host clients reach the server at (default: each request's Host)")
	uploadTTL := fs.Duration("upload-ttl", time.Hour, "how long an idle chunked upload and its part URLs live")
	syncParts := fs.Bool("sync-parts", false, "fsync each upload part before answering its PUT (default: parts are synced at finalize, which re-checks their CRC-32C and names any part a power cut lost)")
	maxFile := fs.Int64("max-file-size", 5<<30, "largest file accepted, in bytes")
	fetchMax := fs.Int64("fetch-max-bytes", fetch.DefaultMaxBytes, "largest file fetched from a URL (attachments, uploads by URL)")
	fetchTimeout := fs.Duration("fetch-timeout", fetch.DefaultTimeout, "how long fetching one URL may take")
	sweepEvery := fs.Duration("sweep-interval", time.Minute, "how often expired uploads are removed")
	gcEvery := fs.Duration("gc-interval", time.Hour, "how often unreferenced blobs are collected")
	indexWorkers := fs.Int("index-workers", 2, "how many files are indexed at once (0: none here; jobs wait for a server that runs workers)")
	indexLease := fs.Duration("index-lease", 2*time.Minute, "how long a worker holds an index job; a job cut by a crash runs again after it")
	indexAttempts := fs.Int("index-attempts", 5, "how many times a file is tried before it ends failed; a run cut short by a crash counts")
	extractIsolation := fs.String("extract-isolation", "process", "where text extraction runs: process (child processes with a memory cap, so a hostile file cannot take the server down) or none (in the server)")
	extractMemory := fs.Int64("extract-memory", isolate.DefaultMemory, "most resident memory, in bytes, of one extraction child (with --extract-isolation=process)")
	extractChildFiles := fs.Int("extract-child-files", 1000, "files an extraction child reads before it is replaced (1: a fresh child for every file)")
	embedURL := fs.String("embed-url", "", "OpenAI-compatible embeddings API root, e.g. http://127.0.0.1:11434/v1 (Ollama); empty: keyword search only. The key, if any, comes from SHELF_EMBED_API_KEY")
	embedModel := fs.String("embed-model", "", "embedding model name (required with --embed-url)")
	embedDims := fs.Int("embed-dims", 0, "embedding dimensions to ask for (0: the model's own)")
	embedSearchTimeout := fs.Duration("embed-search-timeout", 2*time.Second, "how long a search waits for the embedder to embed its query; past it a hybrid search answers by keyword (and says so in notice), a semantic one fails")
	diskReserve := fs.Int64("disk-reserve", 64<<20, "bytes of disk the server keeps in a file in --data and gives back when a write fails for lack of space, so deletes can still commit (0: none)")
	diskLow := fs.Int64("disk-low", 64<<20, "free bytes (beyond the reserve) below which the disk is short: new content is refused with 507, indexing waits, and unreferenced blobs are reclaimed at once")
	chunkSize := fs.Int("chunk-size", 1000, "target chunk size for indexing, in characters")
	chunkOverlap := fs.Int("chunk-overlap", 150, "characters of a chunk repeated at the start of the next (negative: none)")
	kwLimit := fs.Int("keyword-index-max-chunks", search.DefaultKeywordLimit, "most chunks ranked by the in-memory keyword index (≈ 400 bytes of memory each for chunks of 1,000 characters); beyond it, or at 0, keyword search ranks with SQLite FTS5 alone, slower on large collections")
	bulkRows := fs.Int("bulk-batch-rows", 1000, "most rows one transaction of a bulk write (recursive delete or move, library deletion, restore, bulk patch, index or removal) writes before it commits and lets other writes in")
	bulkTime := fs.Duration("bulk-batch-time", 10*time.Millisecond, "longest one transaction of a bulk write holds the writer before it commits and lets other writes in")
	opLease := fs.Duration("op-lease", 30*time.Second, "how long a process holds a bulk change of a tree (recursive delete or move, library deletion, restore) between two batches; one cut by a crash is finished by any server after it")
	debugAddr := fs.String("debug-addr", "", "serve Go's pprof profiles on this address (e.g. 127.0.0.1:6060); off when empty")
	maxConns := fs.Int("max-connections", shelfhttp.DefaultMaxConnections, "most connections held at once; one more is answered 503 with Retry-After and closed")
	rateLimit := fs.Float64("rate-limit", 0, "requests a second each key may make (0: no limit, the default); a key's own limit (shelf keys limit) wins")
	rateBurst := fs.Int("rate-burst", 0, "requests a key may make at once within --rate-limit (default: one second's worth)")
	authFailRate := fs.Float64("auth-fail-rate", shelfhttp.DefaultAuthFailures.PerSecond, "failed authentications a second allowed per client address; beyond, the address is answered 429")
	authFailBurst := fs.Int("auth-fail-burst", shelfhttp.DefaultAuthFailures.Burst, "failed authentications a client address may make at once")
	trustedProxy := fs.String("trusted-proxy", "", "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (default: none; the header is ignored)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rateLimit < 0 || *rateBurst < 0 {
		return errors.New("--rate-limit and --rate-burst must be 0 or more")
	}
	if *maxConns < 1 {
		return errors.New("--max-connections must be at least 1")
	}
	if *authFailRate <= 0 || *authFailBurst < 1 {
		return errors.New("--auth-fail-rate must be above 0 and --auth-fail-burst at least 1: failed authentications are always throttled")
	}
	proxies, err := parsePrefixes(*trustedProxy)
	if err != nil {
		return fmt.Errorf("--trusted-proxy: %v", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	allow, err := fetch.ParseAllow(getenv("SHELF_FETCH_ALLOW"))
	if err != nil {
		return fmt.Errorf("SHELF_FETCH_ALLOW: %s", shelf.ErrorMessage(err))
	}
	fetcher := fetch.New(fetch.Config{MaxBytes: *fetchMax, Timeout: *fetchTimeout, Allow: allow})
	if *bulkRows < 1 || *bulkTime <= 0 || *opLease <= 0 {
		return errors.New("--bulk-batch-rows, --bulk-batch-time and --op-lease must be positive")
	}
	cfg := library.Config{UploadTTL: *uploadTTL, MaxFileSize: *maxFile, Logger: log, Fetcher: fetcher,
		RateLimit: shelf.RateLimit{PerSecond: *rateLimit, Burst: *rateBurst}, EmbedTimeout: *embedSearchTimeout, SpaceLow: *diskLow,
		BulkRows: *bulkRows, BulkTime: *bulkTime, OpLease: *opLease}
	cfg.Index.Workers, cfg.Index.Lease, cfg.Index.MaxAttempts = *indexWorkers, *indexLease, *indexAttempts
	cfg.Index.Chunk = chunk.Options{Target: *chunkSize, Overlap: *chunkOverlap}
	if *embedURL != "" {
		emb, err := openai.New(openai.Config{BaseURL: *embedURL, APIKey: getenv("SHELF_EMBED_API_KEY"), Model: *embedModel, Dimensions: *embedDims})
		if err != nil {
			return fmt.Errorf("--embed-url: %s", shelf.ErrorMessage(err))
		}
		cfg.Embedder = emb
		// Queries are embedded once, within the search's deadline: a
		// search never waits out the retries that indexing may.
		qemb, err := openai.New(openai.Config{BaseURL: *embedURL, APIKey: getenv("SHELF_EMBED_API_KEY"), Model: *embedModel,
			Dimensions: *embedDims, MaxRetries: -1, Timeout: *embedSearchTimeout})
		if err != nil {
			return fmt.Errorf("--embed-url: %s", shelf.ErrorMessage(err))
		}
		cfg.QueryEmbedder = qemb
	} else if *embedModel != "" {
		return errors.New("--embed-model needs --embed-url")
	}
	if *indexWorkers <= 0 {
		cfg.Index.Workers = -1
	}
	if fp := getenv("SHELF_FAILPOINT"); fp != "" {
		cfg.Hook = failpoint(fp, stderr)
	}
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return err
	}
	if *diskReserve < 0 || *diskLow < 0 {
		return errors.New("--disk-reserve and --disk-low must not be negative")
	}
	if reserve, err := diskspace.Open(*data, *diskReserve); err != nil {
		log.Warn("disk: free space cannot be watched here; no reserve is kept", "err", err)
	} else {
		cfg.Space = reserve
		if _, held := reserve.Reserve(); !held {
			log.Warn("disk: no room for the reserve; the disk starts short", "bytes", *diskReserve)
		}
	}
	switch *extractIsolation {
	case "process":
		if cfg.Index.Workers < 0 {
			break // no indexing here
		}
		ex, err := isolate.New(isolate.Config{Command: []string{selfPath(), "extract-worker"}, Memory: *extractMemory,
			Uses: *extractChildFiles, Keep: cfg.Index.Workers, Logger: log})
		if err != nil {
			return fmt.Errorf("--extract-isolation=process: %w (--extract-isolation=none extracts in the server)", err)
		}
		defer ex.Close()
		cfg.Index.Extractor = ex
	case "none":
	default:
		return fmt.Errorf("--extract-isolation must be process or none, not %q", *extractIsolation)
	}
	cfg.KeywordIndexLimit = *kwLimit
	if *kwLimit <= 0 {
		cfg.KeywordIndexLimit = -1
	}
	// The search indexes are saved in the data directory, nowhere else.
	cfg.SearchDir = filepath.Join(*data, "index")
	b, err := openBackend(ctx, *data, cfg, *syncParts)
	if err != nil {
		return err
	}
	defer b.close()
	generated, err := b.svc.EnsureMasterKey(ctx, getenv("SHELF_MASTER_KEY"))
	if shelf.ErrorCode(err) == shelf.EINVALID {
		return fmt.Errorf("SHELF_MASTER_KEY: %s", shelf.ErrorMessage(err))
	} else if err != nil {
		return err
	}
	if generated != "" {
		fmt.Fprintf(stderr, "Generated the master key; it is shown only this once, keep it safe:\n\n    %s\n\nSet SHELF_MASTER_KEY to use your own.\n\n", generated)
	}
	srv := shelfhttp.New(b.svc, shelfhttp.Options{PublicURL: *publicURL, Logger: log,
		AuthFailures: shelf.RateLimit{PerSecond: *authFailRate, Burst: *authFailBurst}, TrustedProxies: proxies})
	memorylake.Register(srv)
	memoryinc.Register(srv)
	chatbotkit.Register(srv)
	informer.Register(srv)

	tcp, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	ln := shelfhttp.LimitListener(tcp, *maxConns)
	hs := shelfhttp.NewHTTPServer(*addr, srv, log)
	bg, cancelBG := context.WithCancel(ctx)
	defer cancelBG()
	go housekeeping(bg, b.svc, log, *sweepEvery, *gcEvery)
	go b.svc.WatchSpace(bg)
	go func() {
		// The search indexes are loaded (or the keyword index built) now,
		// not at the first search.
		if err := b.svc.WarmSearch(bg); err != nil && bg.Err() == nil {
			log.Warn("search indexes: loading them failed; the first search tries again", "err", err)
		}
	}()
	indexerDone, opsDone, saverDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		// Saved at intervals, and once more on the way out.
		defer close(saverDone)
		b.svc.RunSearchSaver(bg)
	}()
	go func() {
		defer close(indexerDone)
		b.svc.RunIndexer(bg)
	}()
	go func() {
		// Bulk changes of a tree that a crash (here or in another
		// replica) cut short are finished once their lease ends.
		defer close(opsDone)
		b.svc.RunTreeOps(bg)
	}()
	// Stop the workers before the store closes: they hand their claimed
	// jobs back on the way out.
	defer func() {
		cancelBG()
		<-indexerDone
		<-opsDone
		<-saverDone
	}()

	if *debugAddr != "" {
		go func() {
			// http.DefaultServeMux holds net/http/pprof's handlers only.
			if err := http.ListenAndServe(*debugAddr, http.DefaultServeMux); err != nil {
				log.Error("debug server", "err", err)
			}
		}()
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("shelf serving", "addr", ln.Addr().String(), "data", *data)
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// The last uses the requests just served made, before the store closes.
	if err := b.svc.FlushKeyUse(shutdownCtx); err != nil {
		log.Error("writing the keys' last use failed", "err", err)
	}
	return nil
}

// housekeeping sweeps expired uploads, writes the keys' last uses and
// prunes old idempotency records (at once, then every sweepEvery), and
// collects unreferenced blobs every gcEvery.
func housekeeping(ctx context.Context, svc *library.Service, log *slog.Logger, sweepEvery, gcEvery time.Duration) {
	sweep := func() {
		if n, err := svc.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Error("upload sweep failed", "err", err)
		} else if n > 0 {
			log.Info("upload sweep", "removed", n)
		}
		if err := svc.FlushKeyUse(ctx); err != nil && ctx.Err() == nil {
			log.Error("writing the keys' last use failed", "err", err)
		}
		if _, err := svc.PruneIdempotency(ctx); err != nil && ctx.Err() == nil {
			log.Error("pruning idempotency records failed", "err", err)
		}
	}
	sweep()
	st, gt := time.NewTicker(sweepEvery), time.NewTicker(gcEvery)
	defer st.Stop()
	defer gt.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-st.C:
			sweep()
		case <-gt.C:
			if n, err := svc.GC(ctx); err != nil && ctx.Err() == nil {
				log.Error("blob gc failed", "err", err)
			} else if n > 0 {
				log.Info("blob gc", "deleted", n)
			}
		}
	}
}

// parsePrefixes reads a comma-separated list of addresses and CIDRs.
func parsePrefixes(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// extractWorker is a child of a server that extracts text out of
// process: it answers requests on stdin and stdout until stdin ends
// (index/isolate).
func extractWorker(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("extract-worker", flag.ContinueOnError)
	memory := fs.Int64("memory", isolate.DefaultMemory, "most resident memory, in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return isolate.Serve(stdin, stdout, *memory)
}

// selfPath is how the server starts its own binary again: /proc/self/exe
// on Linux, which still works when the file was replaced by an upgrade,
// else the path it was started from.
func selfPath() string {
	if _, err := os.Stat("/proc/self/exe"); err == nil {
		return "/proc/self/exe"
	}
	if p, err := os.Executable(); err == nil {
		return p
	}
	return os.Args[0]
}

// failpoint returns a hook that, at the named point, says so on stderr and
// blocks forever, so a crash test can kill the process exactly there.
// Indexing names a point per file: index-extracting:<file name>.
func failpoint(name string, stderr io.Writer) func(string) {
	return func(point string) {
		if point == name {
			fmt.Fprintf(stderr, "FAILPOINT %s reached\n", point)
			select {}
		}
	}
}

func keys(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("keys: want create, list, rotate, limit or revoke")
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	data := fs.String("data", "./shelf-data", "data directory")
	ws := fs.String("workspace", "", "workspace id (default: the default workspace)")
	name := fs.String("name", "", "key name")
	scopes := fs.String("scopes", "read", "comma-separated scopes: read, write, admin")
	expires := fs.String("expires-at", "", "when the key stops working, RFC 3339 (default: never)")
	rateLimit := fs.String("rate-limit", "", "the key's own request rate limit, requests a second (0: not limited; default: the server's --rate-limit)")
	rateBurst := fs.Int("rate-burst", 0, "requests the key may make at once within its own rate limit (default: one second's worth)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	own, err := rateFlag(*rateLimit, *rateBurst)
	if err != nil {
		return fmt.Errorf("keys %s: %v", args[0], err)
	}
	b, err := openBackend(ctx, *data, library.Config{Logger: quietLog()}, false)
	if err != nil {
		return err
	}
	defer b.close()
	admin, err := b.svc.AdminPrincipal(ctx)
	if err != nil {
		return err
	}
	actx := shelf.NewContext(ctx, admin)
	switch args[0] {
	case "create":
		var sc []shelf.Scope
		for _, s := range strings.Split(*scopes, ",") {
			sc = append(sc, shelf.Scope(strings.TrimSpace(s)))
		}
		spec := library.KeySpec{Name: *name, Scopes: sc, RateLimit: own}
		if *expires != "" {
			if spec.ExpiresAt, err = time.Parse(time.RFC3339, *expires); err != nil {
				return fmt.Errorf("keys create: --expires-at must be an RFC 3339 time, like 2030-01-02T15:04:05Z")
			}
		}
		k, token, err := b.svc.IssueKey(actx, *ws, spec)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "id:        %s\nworkspace: %s\nscopes:    %s\nkey:       %s\n\nThe key is shown only this once.\n", k.ID, k.WorkspaceID, joinScopes(k.Scopes), token)
	case "list":
		list, err := b.svc.Keys(actx, *ws)
		if err != nil {
			return cliError(err)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tEXPIRES\tLAST USED\tRATE LIMIT")
		for _, k := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, joinScopes(k.Scopes), k.CreatedAt.Format(time.RFC3339),
				timeOr(k.ExpiresAt, "never"), timeOr(k.LastUsedAt, "-"), rateString(k.RateLimit))
		}
		return tw.Flush()
	case "rotate":
		if fs.NArg() != 1 {
			return errors.New("keys rotate: name one key id")
		}
		k, token, err := b.svc.RotateKey(actx, *ws, fs.Arg(0))
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "id:        %s\nworkspace: %s\nkey:       %s\n\nThe old key no longer works; the new one is shown only this once.\n", k.ID, k.WorkspaceID, token)
	case "limit":
		if fs.NArg() != 1 || *rateLimit == "" {
			return errors.New("keys limit: name one key id and give --rate-limit (requests a second, 0 for none, or default)")
		}
		k, err := b.svc.SetKeyRateLimit(actx, fs.Arg(0), own)
		if err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "id:         %s\nrate limit: %s\n", k.ID, rateString(k.RateLimit))
	case "revoke":
		if fs.NArg() != 1 {
			return errors.New("keys revoke: name one key id")
		}
		if err := b.svc.RevokeKey(actx, fs.Arg(0)); err != nil {
			return cliError(err)
		}
		fmt.Fprintf(stdout, "revoked %s\n", fs.Arg(0))
	default:
		return fmt.Errorf("keys: unknown command %q (want create, list, rotate, limit or revoke)", args[0])
	}
	return nil
}

// rateFlag reads --rate-limit and --rate-burst: "" or "default" is the
// server's limit (nil), a number of requests a second the key's own (0:
// none).
func rateFlag(rate string, burst int) (*shelf.RateLimit, error) {
	if rate == "" || rate == "default" {
		if burst != 0 {
			return nil, errors.New("--rate-burst needs --rate-limit")
		}
		return nil, nil
	}
	ps, err := strconv.ParseFloat(rate, 64)
	if err != nil {
		return nil, fmt.Errorf("--rate-limit must be a number of requests a second, or default")
	}
	return &shelf.RateLimit{PerSecond: ps, Burst: burst}, nil
}

// rateString shows a key's own rate limit.
func rateString(l *shelf.RateLimit) string {
	switch {
	case l == nil:
		return "server's"
	case l.PerSecond == 0:
		return "none"
	}
	return fmt.Sprintf("%s/s, bursts of %d", strconv.FormatFloat(l.PerSecond, 'g', -1, 64), l.Burst)
}

// timeOr formats t, or says none when it is zero.
func timeOr(t time.Time, none string) string {
	if t.IsZero() {
		return none
	}
	return t.Format(time.RFC3339)
}

func workspaces(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("workspaces: want create NAME")
	}
	fs := flag.NewFlagSet("workspaces create", flag.ContinueOnError)
	data := fs.String("data", "./shelf-data", "data directory")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("workspaces create: name the workspace")
	}
	b, err := openBackend(ctx, *data, library.Config{Logger: quietLog()}, false)
	if err != nil {
		return err
	}
	defer b.close()
	admin, err := b.svc.AdminPrincipal(ctx)
	if err != nil {
		return err
	}
	w, err := b.svc.CreateWorkspace(shelf.NewContext(ctx, admin), fs.Arg(0))
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(stdout, "id:   %s\nname: %s\n", w.ID, w.Name)
	return nil
}

func fsck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fsck", flag.ContinueOnError)
	data := fs.String("data", "./shelf-data", "data directory")
	deep := fs.Bool("deep", false, "re-hash every stored blob")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := openBackend(ctx, *data, library.Config{Logger: quietLog()}, false)
	if err != nil {
		return err
	}
	defer b.close()
	problems, err := b.svc.Fsck(ctx, *deep)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintf(stdout, "%s: %s\n", p.Kind, p.Detail)
	}
	if len(problems) > 0 {
		return fmt.Errorf("fsck found %d problems", len(problems))
	}
	fmt.Fprintln(stdout, "fsck: no problems found")
	return nil
}

func cliError(err error) error {
	return fmt.Errorf("%s", shelf.ErrorMessage(err))
}

func joinScopes(sc []shelf.Scope) string {
	s := make([]string, len(sc))
	for i, x := range sc {
		s[i] = string(x)
	}
	return strings.Join(s, ",")
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
