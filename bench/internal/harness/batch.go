package harness

import (
	"context"
	"fmt"

	shelf "github.com/shelfmem/shelf"
)

// BatchStore is a shelf.Store whose Update runs each call's function in a
// transaction shared with up to size-1 others, committed when it is full
// or at Flush. The core's code runs unchanged, so the rows are the ones it
// makes; only the number of commits (each an fsync) shrinks. For building
// benchmark data only: a call's success is reported before its commit.
type BatchStore struct {
	shelf.Store
	calls chan batchCall
	quit  chan struct{} // closed when the committing goroutine ends
	err   error         // its error, readable after quit
}

type batchCall struct {
	fn   func(shelf.Tx) error
	done chan error
}

// NewBatchStore wraps st, committing every size calls of Update.
func NewBatchStore(ctx context.Context, st shelf.Store, size int) *BatchStore {
	b := &BatchStore{Store: st, calls: make(chan batchCall), quit: make(chan struct{})}
	go func() {
		defer close(b.quit)
		for open := true; open && b.err == nil; {
			b.err = st.Update(ctx, func(tx shelf.Tx) error {
				for range size {
					c, ok := <-b.calls
					if !ok {
						open = false
						return nil
					}
					err := c.fn(tx)
					c.done <- err
					if err != nil {
						return err
					}
				}
				return nil
			})
		}
	}()
	return b
}

func (b *BatchStore) Update(ctx context.Context, fn func(shelf.Tx) error) error {
	c := batchCall{fn: fn, done: make(chan error, 1)}
	select {
	case b.calls <- c:
		return <-c.done
	case <-b.quit:
		return fmt.Errorf("batch store: an earlier transaction failed: %w", b.err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush commits the open transaction and stops the batch store.
func (b *BatchStore) Flush() error {
	close(b.calls)
	<-b.quit
	return b.err
}
