package main

import (
	"sync"
	"time"

	"github.com/opsui/opsui/ops/deploy"
)

// watchEvery is how often the headless deploy says how its regression
// watch goes (the console shows it live).
const watchEvery = 10 * time.Second

// watchPrinter says the watch's status through say at most every
// watchEvery while it reads a baseline or watches a batch; its verdicts
// come as the deploy's own messages.
func watchPrinter(say func(string)) func(deploy.WatchStatus) {
	var mu sync.Mutex
	var last time.Time
	var lastPhase deploy.WatchPhase
	var lastBatch int
	return func(s deploy.WatchStatus) {
		if s.Phase != deploy.WatchBaseline && s.Phase != deploy.WatchWatching {
			return
		}
		mu.Lock()
		now := time.Now()
		fresh := s.Phase != lastPhase || s.Batch != lastBatch
		if !fresh && now.Sub(last) < watchEvery {
			mu.Unlock()
			return
		}
		last, lastPhase, lastBatch = now, s.Phase, s.Batch
		mu.Unlock()
		say(s.String())
	}
}
