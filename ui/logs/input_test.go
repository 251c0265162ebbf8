package logs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// shortHelp is the console's footer help, without its styles.
func shortHelp(bs []key.Binding) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = b.Help().Key + " " + b.Help().Desc
	}
	return strings.Join(parts, " • ")
}

// While a search, a filter or a path is typed at 80 columns, the footer
// keeps what is typed whole and the keys to end it readable, never cut to
// a letter (issue 18, item 10).
func TestTypedLinesKeepTheirHint(t *testing.T) {
	for _, c := range []struct {
		press []string
		want  []string
	}{
		{[]string{"/", "needle in the haystack"}, []string{"search> needle in the haystack", "enter apply", "esc cancel"}},
		{[]string{"&", "level=error"}, []string{"filter> level=error", "[plain]", "enter apply", "esc cancel"}},
		{[]string{"S"}, []string{"save all lines to> ./opsui-logs-", ".log", "enter apply", "esc cancel"}},
	} {
		v := newTestLogs(t, 80, 10, 100, "web1")
		feed(v, "web1|hello")
		pressLogs(v, c.press...)
		footer := ansi.Strip(v.Footer(shortHelp))
		if w := ansi.StringWidth(strings.TrimRight(footer, " ")); w > 80 {
			t.Errorf("%v: the footer is %d wide: %q", c.press, w, footer)
		}
		for _, s := range c.want {
			if !strings.Contains(footer, s) {
				t.Errorf("%v: the footer lacks %q: %q", c.press, s, footer)
			}
		}
	}
}

// A regex filter's error goes once the pattern compiles again.
func TestRegexErrorClearsWhenThePatternIsValid(t *testing.T) {
	v := newTestLogs(t, 80, 10, 100, "web1")
	feed(v, "web1|GET /ab 500", "web1|GET /c 200")
	pressLogs(v, "&")
	v.Update(tea.KeyPressMsg(tea.Key{Code: 'r', Mod: tea.ModCtrl}))
	pressLogs(v, "a(b")
	if got := plainView(v); !strings.Contains(got, `filter "a(b": error parsing`) {
		t.Fatalf("no error for a(b:\n%s", got)
	}
	pressLogs(v, ")")
	got := plainView(v)
	if strings.Contains(got, "error parsing") {
		t.Errorf("the error stays once a(b) is valid:\n%s", got)
	}
	if !strings.Contains(got, "GET /ab 500") || strings.Contains(got, "GET /c 200") {
		t.Errorf("the valid filter is not applied:\n%s", got)
	}
}

// S saves what is shown: with a filter, only the lines that pass, and the
// prompt says so (issue 18, item 12).
func TestSaveTakesTheFilteredLines(t *testing.T) {
	v := newTestLogs(t, 120, 10, 100, "web1")
	feed(v, "web1|GET / 200", "web1|ERROR boom", "web1|GET /b 200", "web1|ERROR again")
	pressLogs(v, "&", "ERROR", "enter", "S")
	if footer := ansi.Strip(v.Footer(shortHelp)); !strings.Contains(footer, "save the 2 filtered lines to> ") {
		t.Errorf("prompt: %q", footer)
	}
	path := filepath.Join(t.TempDir(), "errors.log")
	v.input.SetValue(path)
	cmd := v.update(tea.KeyPressMsg(tea.Key{Code: tea.KeyEnter}))
	if cmd == nil {
		t.Fatal("enter gave no command")
	}
	if msg, ok := cmd().(SavedMsg); !ok || msg.Err != nil || msg.Lines != 2 {
		t.Fatalf("saved: %+v", msg)
	}
	b, err := os.ReadFile(path)
	if err != nil || strings.Contains(string(b), "GET") || strings.Count(string(b), "ERROR") != 2 {
		t.Errorf("saved %q, %v", b, err)
	}
}
