package logs

import "testing"

// TestErrorKeyDropsWhatDiffers: two occurrences of one error group as one,
// whatever their timestamps, level tags, process and connection ids.
func TestErrorKeyDropsWhatDiffers(t *testing.T) {
	for _, c := range []struct{ a, b, summary string }{
		{`2026/12/05 05:55:12 [error] 15273#15273: *19 connect() failed (111: Connection refused) while connecting to upstream`,
			`2026/12/05 05:56:40 [error] 15280#15280: *7 connect() failed (111: Connection refused) while connecting to upstream`,
			"connect() failed (111: Connection refused) while connecting to upstream"},
		{`[2026-12-05 05:55:12 +0000] [1234] [ERROR] Worker (pid:88) was sent SIGKILL!`,
			`[2026-12-05 06:01:02 +0000] [1240] [ERROR] Worker (pid:88) was sent SIGKILL!`,
			"Worker (pid:88) was sent SIGKILL!"},
	} {
		ka, sa := errorKey(c.a)
		kb, _ := errorKey(c.b)
		if ka != kb {
			t.Errorf("two keys for one error:\n %q\n %q", ka, kb)
		}
		if sa != c.summary {
			t.Errorf("summary %q, want %q", sa, c.summary)
		}
	}
}
