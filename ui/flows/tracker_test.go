package flows

import (
	"strings"
	"testing"
	"time"
)

func TestFlowTrackerTimesOut(t *testing.T) {
	tr := NewTracker()
	if !tr.Begin() {
		t.Fatal("begin refused")
	}
	if err := tr.CloseAndWait(time.Millisecond); err == nil || !strings.Contains(err.Error(), "opsui unlock") {
		t.Errorf("CloseAndWait with a work running: %v", err)
	}
	tr.End()
}
