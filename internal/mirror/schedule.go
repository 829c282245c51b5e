package mirror

import (
	"context"
	"sync"
)

// schedule orders the entries of one run: entries take job slots in config
// order, and an entry waits for the earlier entries it depends on.
type schedule struct {
	// slots holds one token per running job, Concurrency in all.
	slots chan struct{}
	// handed closes when an entry has handed out its last job slot (or
	// will start no job); the next entry may then take slots.
	handed []chan struct{}
	once   []sync.Once
	// finished closes when an entry's goroutine is done.
	finished []chan struct{}
	// started and results are written by an entry's goroutine before
	// finished closes, and read after.
	started []bool
	results []EntryResult
}

func newSchedule(n, concurrency int) *schedule {
	s := &schedule{
		slots:    make(chan struct{}, concurrency),
		handed:   make([]chan struct{}, n),
		once:     make([]sync.Once, n),
		finished: make([]chan struct{}, n),
		started:  make([]bool, n),
		results:  make([]EntryResult, n),
	}
	for i := range n {
		s.handed[i] = make(chan struct{})
		s.finished[i] = make(chan struct{})
	}
	return s
}

// handedOut marks entry i's jobs all started; safe to call more than once.
func (s *schedule) handedOut(i int) {
	s.once[i].Do(func() { close(s.handed[i]) })
}

// waitTurn blocks until entry i may start: the entry before it has handed
// out its jobs and every entry it depends on has finished. It returns
// false, and marks i handed out, when ctx ends first or an earlier entry
// never started (the run is being stopped).
func (s *schedule) waitTurn(ctx context.Context, i int, deps []int) bool {
	wait := func(ch chan struct{}) bool {
		select {
		case <-ch:
			return true
		case <-ctx.Done():
			return false
		}
	}
	ok := true
	if i > 0 {
		ok = wait(s.handed[i-1])
	}
	for _, j := range deps {
		if !ok {
			break
		}
		ok = wait(s.finished[j])
		ok = ok && s.started[j]
	}
	if ok && ctx.Err() != nil {
		ok = false
	}
	if !ok {
		s.handedOut(i)
	}
	return ok
}
