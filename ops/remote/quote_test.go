package remote

import (
	"os/exec"
	"strings"
	"testing"
)

var hostile = []string{
	"", "plain", "two words", "semi;colon", "$(touch /tmp/opsui-pwned)", "`id`", "it's", `"double"`,
	"back\\slash", "new\nline", "tab\there", "glob*?[a]", "~root", "a'b'c", "'", "''", "$HOME", "${IFS}",
	"-n", "--flag=x", "&& rm -rf /", "| cat", "> /etc/passwd", "héllo wörld", "\x00nul", "\xff\xfe", "!event",
	"a=b", "%s", "#comment",
}

// TestQuotedAssignmentIsACommand: a value such as "a=b" used as the first
// word must stay a word, not become a variable assignment.
func TestQuotedAssignmentIsACommand(t *testing.T) {
	out, _ := exec.Command("/bin/sh", "-c", Quote("a=b")+" 2>&1; echo \"[$a]\"").Output()
	if strings.HasSuffix(string(out), "[b]\n") {
		t.Errorf("Quote(\"a=b\") = %s was taken as an assignment", Quote("a=b"))
	}
}

// TestQuoteSurvivesAShell runs every hostile value through a real /bin/sh
// and checks it comes back as one unchanged argument.
func TestQuoteSurvivesAShell(t *testing.T) {
	for _, v := range hostile {
		if strings.ContainsRune(v, 0) {
			continue // no shell can carry NUL in an argument
		}
		out, err := exec.Command("/bin/sh", "-c", `set -- `+Quote(v)+`; printf '%s:' "$#"; printf '%s' "$1"`).Output()
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		if got, want := string(out), "1:"+v; got != want {
			t.Errorf("Quote(%q) = %s: the shell saw %q, want %q", v, Quote(v), got, want)
		}
	}
}

func TestQuoteAll(t *testing.T) {
	got := QuoteAll("tar", "-xzf", "-", "-C", "/srv/my app/releases/2026'01")
	want := `tar -xzf - -C '/srv/my app/releases/2026'\''01'`
	if got != want {
		t.Errorf("QuoteAll = %s, want %s", got, want)
	}
}
