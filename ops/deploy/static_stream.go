package deploy

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"
	"strings"
)

// errNoStaticTar says the pack script's output did not describe an archive.
var errNoStaticTar = errors.New("the host sent no static archive")

// staticReader turns staticPackScript's output back into the archive: the
// line that describes it, then base64 lines, decoded into a file as they
// arrive (never held in memory) and hashed on the way.
type staticReader struct {
	f   *os.File
	w   *bufio.Writer
	h   hash.Hash
	n   int64
	err error // the first bad line; the rest is ignored

	described          bool
	wantSize, wantSums string
	files              int
}

func newStaticReader(f *os.File) *staticReader {
	return &staticReader{f: f, w: bufio.NewWriterSize(f, 64<<10), h: sha256.New()}
}

// line takes one line of standard output.
func (s *staticReader) line(l string) {
	if s.err != nil {
		return
	}
	if v, ok := strings.CutPrefix(l, staticTarMarker); ok && !s.described {
		f := strings.Fields(v)
		if len(f) != 3 {
			s.err = fmt.Errorf("bad archive description %q", l)
			return
		}
		n, err := strconv.Atoi(f[2])
		if err != nil {
			s.err = fmt.Errorf("bad archive description %q", l)
			return
		}
		s.described, s.wantSize, s.wantSums, s.files = true, f[0], f[1], n
		return
	}
	if !s.described {
		return // the fence's or a login's chatter before the archive
	}
	b, err := base64.StdEncoding.DecodeString(l)
	if err != nil {
		s.err = fmt.Errorf("the static archive arrived damaged: %w", err)
		return
	}
	if _, err := io.MultiWriter(s.w, s.h).Write(b); err != nil {
		s.err = err
		return
	}
	s.n += int64(len(b))
}

// close flushes and closes the file.
func (s *staticReader) close() error {
	err := s.w.Flush()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// check compares what arrived with what the host described.
func (s *staticReader) check() (size int64, sum string, files int, err error) {
	if !s.described {
		return 0, "", 0, errNoStaticTar
	}
	sum = hex.EncodeToString(s.h.Sum(nil))
	if strconv.FormatInt(s.n, 10) != s.wantSize || sum != s.wantSums {
		return 0, "", 0, fmt.Errorf("the static archive arrived incomplete: %d bytes, sha256 %s; the host sent %s bytes, sha256 %s",
			s.n, sum, s.wantSize, s.wantSums)
	}
	return s.n, sum, s.files, nil
}
