package run

import (
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui/common"
)

// Watch takes the deploy's regression watch status (ops.IO.Watch): the
// view shows it under the run's title, live. It is safe for concurrent
// use and never blocks.
func (f *Feed) Watch(s deploy.WatchStatus) {
	f.mu.Lock()
	f.watch = &s
	f.mu.Unlock()
}

// watchLine is the line the view draws for the watch, styled by its
// phase; "" when the run has no watch.
func (v Model) watchLine() string {
	v.feed.mu.Lock()
	s := v.feed.watch
	v.feed.mu.Unlock()
	if s == nil {
		return ""
	}
	st := v.ctx.Styles
	style := st.Muted
	switch s.Phase {
	case deploy.WatchTripped:
		style = st.Error
	case deploy.WatchBlind:
		style = st.Warn
	case deploy.WatchPassed:
		style = st.OK
	}
	return style.Render(common.Clip(s.String(), v.width))
}
