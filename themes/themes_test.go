package themes

import (
	"testing"

	"charm.land/lipgloss/v2"
)

func TestNoColor(t *testing.T) {
	for value, want := range map[string]bool{"": false, "1": true, "true": true, "0": true, "yes please": true} {
		got := NoColor(func(k string) string {
			if k == "NO_COLOR" {
				return value
			}
			return ""
		})
		if got != want {
			t.Errorf("NO_COLOR=%q: NoColor = %v, want %v", value, got, want)
		}
	}
}

func TestHostColorIsStableAndSpread(t *testing.T) {
	th := Dark()
	if th.HostColor("web1") != th.HostColor("web1") {
		t.Fatal("colour of web1 changed between calls")
	}
	seen := map[any]bool{}
	for _, h := range []string{"web1", "web2", "web3", "db1", "cache1", "lb1", "web4", "web5"} {
		seen[th.HostColor(h)] = true
	}
	if len(seen) < 4 {
		t.Errorf("8 hosts share only %d colours", len(seen))
	}
	// Pinned: a host's colour must not change between releases of opsui.
	if got, want := th.HostColor("web1"), th.Hosts[hashIndex("web1", len(th.Hosts))]; got != want {
		t.Errorf("HostColor(web1) = %v, want %v", got, want)
	}
}

func hashIndex(name string, n int) int {
	// FNV-1a, written out so a change of hash in HostColor fails this test.
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h ^= uint32(name[i])
		h *= 16777619
	}
	return int(h % uint32(n))
}

func TestWithoutColorRendersPlain(t *testing.T) {
	th := Dark().WithoutColor()
	out := lipgloss.NewStyle().Foreground(th.HostColor("web1")).Bold(false).Render("web1")
	if out != "web1" {
		t.Errorf("plain theme rendered %q", out)
	}
	for _, name := range Names() {
		if _, err := ByName(name); err != nil {
			t.Error(err)
		}
	}
	if _, err := ByName("solarized"); err == nil {
		t.Error("unknown theme accepted")
	}
}
