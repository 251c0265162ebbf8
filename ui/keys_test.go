package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// docs/KEYS.md is generated from the key table; a change to the keys
// that leaves it stale fails here.
func TestKeyReferenceIsCurrent(t *testing.T) {
	path := filepath.Join("..", "docs", "KEYS.md")
	got := KeyReference()
	if updateGolden() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./ui -run TestKeyReference -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("docs/KEYS.md is stale: go test ./ui -run TestKeyReference -update\n%s", firstDiff(string(want), got))
	}
}

// firstDiff shows the first line where want and got part.
func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n  file  %s\n  table %s", i+1, w, g)
		}
	}
	return ""
}
