package ui

import (
	"errors"
	"strings"
	"testing"
)

// A toast takes a line of its own above the footer: the body shrinks by
// a line and nothing it shows is drawn over (issue 18, item 10).
func TestToastsDoNotCoverTheBody(t *testing.T) {
	a := newTestApp(t, 100, 12)
	before := strings.Split(viewText(a), "\n")
	a = send(t, a, runDoneMsg{err: errors.New("the store is on fire")})
	after := strings.Split(viewText(a), "\n")
	if len(after) != 12 {
		t.Fatalf("%d lines", len(after))
	}
	toastLine := after[len(after)-2]
	if !strings.Contains(toastLine, "the store is on fire") || strings.TrimSpace(strings.Replace(toastLine, "the store is on fire", "", 1)) != "" {
		t.Errorf("the toast's line holds more than the toast: %q", toastLine)
	}
	// The body above it is the body it was, less its last line.
	for i := 1; i < len(after)-2; i++ {
		if after[i] != before[i] {
			t.Errorf("body line %d changed:\n%q\n%q", i, before[i], after[i])
		}
	}
	if after[len(after)-1] != before[len(before)-1] {
		t.Errorf("the footer changed: %q", after[len(after)-1])
	}
	// Gone, the body has its line back.
	a.expireToast(a.toasts.items[0].id)
	if got := viewText(a); got != strings.Join(before, "\n") {
		t.Errorf("after the toast:\n%s", got)
	}
}
