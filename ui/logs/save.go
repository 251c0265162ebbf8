package logs

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops/logs"
)

// SavedMsg says how saving logs view ID's lines to Path went; Exists:
// the file was there, and overwriting it was not asked for yet.
type SavedMsg struct {
	ID     int
	Path   string
	Lines  int
	Exists bool
	Err    error
}

// defaultSavePath is the path the save prompt proposes.
func defaultSavePath(now time.Time) string {
	return "./opsui-logs-" + now.Format("20060102-150405") + ".log"
}

// startSave asks where to save the buffer.
func (v *Model) startSave() tea.Cmd {
	v.typing = typingSave
	// What is saved is what is shown: with a filter, the lines that pass.
	what := "save all lines to> "
	if !v.filter.Empty() {
		what = fmt.Sprintf("save the %d filtered lines to> ", v.rowsLen())
	}
	v.input.Prompt = what
	v.input.SetValue(defaultSavePath(time.Now()))
	v.input.CursorEnd()
	return v.input.Focus()
}

// saveKey handles a key of the save prompt or of its overwrite question.
func (v *Model) saveKey(msg tea.KeyPressMsg) (cmd tea.Cmd, done bool) {
	switch v.typing {
	case typingOverwrite:
		v.typing = 0
		if s := msg.String(); s == "y" || s == "Y" {
			return v.saveCmd(v.savePath, true), true
		}
		v.note = "not saved"
		return nil, true
	case typingSave:
		switch {
		case key.Matches(msg, v.keys.Cancel):
			v.typing = 0
			v.input.Blur()
			return nil, true
		case key.Matches(msg, v.keys.Apply):
			p := strings.TrimSpace(v.input.Value())
			if p == "" {
				v.note = "no file given"
				return nil, true
			}
			v.typing = 0
			v.input.Blur()
			v.savePath = p
			return v.saveCmd(p, false), true
		}
	}
	return nil, false
}

// AskOverwrite asks whether to replace the file that is there.
func (v *Model) AskOverwrite(path string) {
	v.typing, v.savePath = typingOverwrite, path
}

// saveCmd writes what the buffer holds to path in a tea.Cmd: the lines
// are taken now, the file written off the UI's goroutine. An existing file
// is replaced only when overwrite is set.
func (v *Model) saveCmd(path string, overwrite bool) tea.Cmd {
	// What is shown: with a filter, the lines that pass; else every line
	// held, those that arrived since the last frame too.
	lines, _, _ := v.buf.Since(nil, 0)
	if !v.filter.Empty() {
		lines = v.rowsLast(0)
	}
	id := v.id
	return func() tea.Msg {
		n, err := saveLogs(path, lines, overwrite)
		return SavedMsg{ID: id, Path: path, Lines: n, Err: err, Exists: errors.Is(err, fs.ErrExist)}
	}
}

// saveLogs writes lines as `opsui logs --save` does (logs.Saver).
func saveLogs(path string, lines []logs.Line, overwrite bool) (int, error) {
	f, err := logs.CreateSaveFile(path, overwrite)
	if err != nil {
		return 0, err
	}
	files := map[string][]string{}
	for _, l := range lines {
		if !slices.Contains(files[l.Host], l.File) {
			files[l.Host] = append(files[l.Host], l.File)
		}
	}
	s := logs.NewSaver(f, files)
	for _, l := range lines {
		s.Write(l)
	}
	err = s.Flush()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return len(lines), err
}
