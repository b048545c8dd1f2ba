package library

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	shelf "github.com/shelfmem/shelf"
	"github.com/shelfmem/shelf/index/search"
	"github.com/shelfmem/shelf/index/worker"
	"github.com/shelfmem/shelf/internal/backoff"
	"github.com/shelfmem/shelf/internal/bounded"
)

// Config holds the core's tunables. Zero values take the defaults.
type Config struct {
	// UploadTTL is how long a chunked upload session and its part URLs
	// live. Default 1 hour.
	UploadTTL time.Duration
	// DownloadTTL is how long a signed download link lives. Default 15
	// minutes.
	DownloadTTL time.Duration
	// MaxFileSize caps a file's size. Default 5 GiB.
	MaxFileSize int64
	// MinPartSize is the smallest part of a chunked upload but the last.
	// Default 5 MiB, S3's minimum.
	MinPartSize int64
	// BlobGrace is how long an unreferenced blob is kept before garbage
	// collection removes it. It must exceed UploadTTL. Default 24 hours.
	BlobGrace time.Duration
	// Now returns the current time; default time.Now.
	Now func() time.Time
	// Hook, when set, is called at named points of multi-step writes
	// ("part-written", "finalize-hashed", "finalize-blob", "finalize-done";
	// "tree-op-batch" before each batch of a tree op after its first,
	// "bulk-batch" after each batch of a bulk patch or index but the
	// last), so crash tests can stop the process there.
	Hook func(point string)
	// Logger receives the core's logs; default slog.Default().
	Logger *slog.Logger
	// InlineMax is the largest content (ingested documents, files written
	// by path) kept inline in the metadata store rather than as a file in
	// the blob store: one commit instead of a file, a rename and their
	// fsyncs. Default 16 KiB; negative keeps everything in the blob store.
	InlineMax int
	// Fetcher reads the URLs clients give (attachments, uploads by URL).
	// Nil: such requests are refused.
	Fetcher shelf.Fetcher
	// Index tunes the background indexer.
	Index IndexConfig
	// Embedder embeds chunks and queries for semantic and hybrid search.
	// Nil: files are indexed for keyword search only, and searches say so.
	Embedder shelf.Embedder
	// QueryEmbedder, when set, embeds search queries instead of Embedder:
	// the same model, but made to try once rather than retry, so that a
	// failing embedder costs a search one attempt. Its model must be
	// Embedder's.
	QueryEmbedder shelf.Embedder
	// EmbedTimeout bounds the embedding of one search's query; past it a
	// hybrid search answers by keyword (and says so), a semantic one
	// fails. Default 2 s.
	EmbedTimeout time.Duration
	// EmbedFailures is how many failures of the embedder in a row (of
	// searches or of embedding chunks) make searches skip it for
	// EmbedCooldown, answering hybrid searches by keyword at once; then
	// one search tries it again. Defaults 3 and 30 s.
	EmbedFailures int
	EmbedCooldown time.Duration
	// Space watches the free space of the data's file system and holds
	// its reserve (see space.go). Nil: no reserve is kept, and the core
	// learns that the disk is full only from writes that fail.
	Space Space
	// SpaceLow is the free space, beyond the reserve, below which the
	// disk is short: new content is refused (EINSUFFICIENT), indexing
	// waits, and unreferenced blobs are reclaimed without waiting for
	// BlobGrace. Default 64 MiB.
	SpaceLow int64
	// SpaceCheck is how often WatchSpace looks at the free space. Default
	// 5 s.
	SpaceCheck time.Duration
	// MaxRemove caps the items one RemoveItems call deletes or hides,
	// the attachments that go with documents included. Default 10,000.
	MaxRemove int
	// RateLimit is every key's request rate limit unless the key has its
	// own; zero: keys without their own are not limited (the default).
	RateLimit shelf.RateLimit
	// RateLimiter keeps the keys' buckets. Nil: a MemoryLimiter of this
	// process (each replica limits on its own).
	RateLimiter shelf.RateLimiter
	// Locker holds the locks of uploads and their parts. Nil: a
	// MemoryLocker of this process, enough while one process serves the
	// data.
	Locker shelf.Locker
	// BulkRows and BulkTime bound one transaction of a request that
	// writes many rows (a recursive delete or move, a library's
	// deletion, a restore, a bulk patch, index or removal): it commits
	// after BulkRows rows or BulkTime, whichever comes first, and gives
	// the writer way before the next batch. Defaults 1,000 rows and 10 ms.
	BulkRows int
	BulkTime time.Duration
	// OpLease is how long a process holds a bulk change of a tree it
	// runs (a shelf.TreeOp) without a batch; once it has passed, any
	// process finishes the change (RunTreeOps). Default 30 seconds.
	OpLease time.Duration
	// KeywordIndexLimit bounds the chunks of the in-memory keyword index
	// (all workspaces together); past it keyword search ranks with the
	// store's own full-text search alone. 0: the default
	// (search.DefaultKeywordLimit); negative: no index.
	KeywordIndexLimit int
	// SearchDir is where the search indexes are saved, so that a restart
	// loads rather than rebuilds them: a directory of the server's own
	// (the data directory's index/). "": they are not saved.
	SearchDir string
}

// MaxParts is the most parts a chunked upload may have (S3's limit).
const MaxParts = 10000

func (c *Config) setDefaults() {
	if c.UploadTTL <= 0 {
		c.UploadTTL = time.Hour
	}
	if c.DownloadTTL <= 0 {
		c.DownloadTTL = 15 * time.Minute
	}
	if c.MaxFileSize <= 0 {
		c.MaxFileSize = 5 << 30
	}
	if c.MinPartSize <= 0 {
		c.MinPartSize = 5 << 20
	}
	if c.BlobGrace <= c.UploadTTL {
		c.BlobGrace = max(24*time.Hour, 2*c.UploadTTL)
	}
	if c.InlineMax == 0 {
		c.InlineMax = 16 << 10
	}
	if c.MaxRemove <= 0 {
		c.MaxRemove = 10000
	}
	if c.SpaceLow <= 0 {
		c.SpaceLow = 64 << 20
	}
	if c.SpaceCheck <= 0 {
		c.SpaceCheck = 5 * time.Second
	}
	if c.EmbedTimeout <= 0 {
		c.EmbedTimeout = 2 * time.Second
	}
	if c.EmbedFailures <= 0 {
		c.EmbedFailures = 3
	}
	if c.EmbedCooldown <= 0 {
		c.EmbedCooldown = 30 * time.Second
	}
	if c.BulkRows <= 0 {
		c.BulkRows = 1000
	}
	if c.BulkTime <= 0 {
		c.BulkTime = 10 * time.Millisecond
	}
	if c.OpLease <= 0 {
		c.OpLease = 30 * time.Second
	}
	c.InlineMax = min(c.InlineMax, maxInlineEver)
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.RateLimiter == nil {
		c.RateLimiter = NewMemoryLimiter(1<<18, c.Now)
	}
	if c.Locker == nil {
		c.Locker = NewMemoryLocker()
	}
	c.Index = c.Index.WithDefaults()
}

// Service is the core. It is safe for concurrent use.
type Service struct {
	store shelf.Store
	blobs shelf.BlobStore
	// staging is the blob store's staging capability, found once by Open;
	// nil when the store has none, and then chunked uploads are refused
	// (errNoChunked).
	staging shelf.StagingStore
	cfg     Config
	log     *slog.Logger

	master    masterKey
	keyUse    keyUse       // keys' last uses not yet written
	defaultWS atomic.Value // string: the default workspace's id, once known
	signer    *signer
	embedWake chan struct{} // nudges the embedding loop
	breaker   breaker       // the embedder's health, for searches
	// embedBackoff spaces the embedding loop's tries while the embedder
	// fails.
	embedBackoff *backoff.Shared
	space        spaceState
	search       *search.Engine
	cursors      *listCursors
	// fg gauges the client writes the index workers and the embedding
	// loop give way to.
	fg      *worker.Foreground
	indexer *worker.Worker // the index workers (RunIndexer, IndexOnce)
}

// Open returns the core over store and blobs, making what a first start
// needs: the default workspace with its default library, and the URL
// signing key. Call EnsureMasterKey before serving requests.
func Open(ctx context.Context, store shelf.Store, blobs shelf.BlobStore, cfg Config) (*Service, error) {
	cfg.setDefaults()
	if err := checkRateLimit(&cfg.RateLimit); err != nil {
		return nil, err
	}
	if cfg.QueryEmbedder != nil && (cfg.Embedder == nil || cfg.QueryEmbedder.Model() != cfg.Embedder.Model()) {
		return nil, shelf.Errorf(shelf.EINVALID, "the query embedder must have the embedder's model")
	}
	s := &Service{store: store, blobs: blobs, cfg: cfg, log: cfg.Logger, fg: worker.NewForeground(),
		embedWake:    make(chan struct{}, 1),
		breaker:      breaker{failures: cfg.EmbedFailures, cooldown: cfg.EmbedCooldown},
		embedBackoff: &backoff.Shared{Min: embedBackoffMin, Max: embedBackoffMax},
		space:        spaceState{wake: make(chan struct{}, 1)},
		cursors:      bounded.NewMap[cursorKey, string](maxCursors)}
	// Every write the core makes passes the space watch: a store
	// transaction or a blob write that fails for lack of space gives the
	// reserve back (see space.go).
	s.store, s.blobs = spaceStore{Store: store, s: s}, spaceBlobs{BlobStore: blobs, s: s}
	s.search = s.newEngine()
	s.indexer = s.newIndexer()
	// The blob store's capabilities are found once, here: a chunked upload
	// needs parts to pass through the server (shelf.StagingStore). A store
	// whose parts go straight to its backend (shelf.DirectPartStore) is not
	// wired yet, so it takes no chunked uploads either.
	if st, ok := blobs.(shelf.StagingStore); ok {
		s.staging = spaceStaging{StagingStore: st, s: s}
	}
	if _, err := s.defaultWorkspace(ctx); err != nil {
		return nil, err
	}
	sg, err := loadSigner(ctx, store)
	if err != nil {
		return nil, err
	}
	s.signer = sg
	if err := s.upgradeProjects(ctx); err != nil {
		return nil, shelf.Wrap(err, "upgrade projects")
	}
	return s, nil
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) now() time.Time { return s.cfg.Now().UTC() }

func (s *Service) hook(point string) {
	if s.cfg.Hook != nil {
		s.cfg.Hook(point)
	}
}

// newID returns a new time-ordered id (UUIDv7).
func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source does.
		panic(err)
	}
	return id.String()
}

// randomHex returns n random bytes, hex-encoded.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// principal returns the caller, or EUNAUTHORIZED.
func principal(ctx context.Context) (*shelf.Principal, error) {
	p := shelf.PrincipalFrom(ctx)
	if p == nil || p.WorkspaceID == "" {
		return nil, shelf.Errorf(shelf.EUNAUTHORIZED, "no credentials")
	}
	return p, nil
}

// need returns the caller if it holds scope, else an error.
func need(ctx context.Context, scope shelf.Scope) (*shelf.Principal, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Can(scope) {
		return nil, shelf.Errorf(shelf.EFORBIDDEN, "this key lacks the %q scope", scope)
	}
	return p, nil
}
