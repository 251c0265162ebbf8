package logs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"syscall"
)

// CreateSaveFile opens path for a save of logs, for `opsui logs --save`
// and the console alike: created 0600 (logs may hold secrets), never
// through a symlink, and an existing file is an fs.ErrExist error unless
// overwrite is set; then it must be a regular file, is truncated and made
// 0600.
func CreateSaveFile(path string, overwrite bool) (*os.File, error) {
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL | syscall.O_NOFOLLOW
	if overwrite {
		flag = os.O_WRONLY | os.O_CREATE | syscall.O_NOFOLLOW | syscall.O_NONBLOCK
	}
	f, err := os.OpenFile(path, flag, 0o600)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%s is a symbolic link: not followed", path)
	}
	if err != nil {
		return nil, err
	}
	if overwrite {
		fi, err := f.Stat()
		switch {
		case err != nil:
		case !fi.Mode().IsRegular():
			err = fmt.Errorf("%s is not a regular file", path)
		default:
			if err = f.Chmod(0o600); err == nil {
				err = f.Truncate(0)
			}
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// Saver writes a merged stream as `opsui logs --save` and the console's
// save do: a line per line, the time it arrived, its source label (the
// host, and the file's name when a host follows several) and its text,
// markers between "-- ". It is not safe for concurrent use.
type Saver struct {
	w       *bufio.Writer
	several bool
	width   int
	labels  map[[2]string]string // by host and file
	err     error
}

// NewSaver returns a Saver writing to w; files are each host's followed
// paths, which decide the labels and their width.
func NewSaver(w io.Writer, files map[string][]string) *Saver {
	s := &Saver{w: bufio.NewWriterSize(w, 64<<10), labels: map[[2]string]string{}}
	for _, fs := range files {
		s.several = s.several || len(fs) > 1
	}
	for h, fs := range files {
		for _, f := range fs {
			s.width = max(s.width, len([]rune(s.label(h, f))))
		}
	}
	return s
}

func (s *Saver) label(host, file string) string {
	if s.several {
		return host + " " + path.Base(file)
	}
	return host
}

// Label returns the padded label of host's file, ending in " |".
func (s *Saver) Label(host, file string) string {
	k := [2]string{host, file}
	lab, ok := s.labels[k]
	if !ok {
		lab = fmt.Sprintf("%-*s |", s.width, s.label(host, file))
		s.labels[k] = lab
	}
	return lab
}

// Write writes l; the first error is kept for Flush.
func (s *Saver) Write(l Line) {
	text := l.Text
	if l.Kind.IsMarker() {
		text = "-- " + text + " --"
	}
	_, err := fmt.Fprintf(s.w, "%s %s %s\n", l.Time.Format("2006-01-02T15:04:05.000Z07:00"), s.Label(l.Host, l.File), text)
	if err != nil && s.err == nil {
		s.err = err
	}
}

// Flush writes out what is buffered and returns the first error.
func (s *Saver) Flush() error {
	if err := s.w.Flush(); err != nil && s.err == nil {
		s.err = err
	}
	return s.err
}
