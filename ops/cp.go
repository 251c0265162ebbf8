package ops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// CopyRequest puts one local file on hosts (opsui cp).
type CopyRequest struct {
	Hosts []inventory.Host
	// Local is the file on the operator's machine; Remote the absolute
	// path it gets on every host.
	Local, Remote string
	// Mode is the file's mode on the hosts; zero keeps the local file's
	// permission bits.
	Mode    os.FileMode
	Options remote.RunOptions
}

// copyScript writes standard input to OPSUI_DST atomically: a temporary
// file in the same directory, checked for size and SHA-256, given
// OPSUI_MODE, then renamed over the destination. A reader sees the old
// file or the new one, never a part; a failed copy leaves nothing behind.
const copyScript = `set -e
dst=$OPSUI_DST; dir=${dst%/*}; [ -n "$dir" ] || dir=/
if [ ! -d "$dir" ]; then echo "cp: directory $dir does not exist on $(uname -n)" >&2; exit 1; fi
if [ -d "$dst" ]; then echo "cp: $dst is a directory: name the file to write" >&2; exit 1; fi
tmp=$(mktemp "$dir/.opsui-cp.XXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
size=$(wc -c < "$tmp" | tr -d ' ')
if [ "$size" != "$OPSUI_SIZE" ]; then echo "cp: received $size of $OPSUI_SIZE bytes" >&2; exit 1; fi
sum=$(sha256sum < "$tmp" | cut -d' ' -f1)
if [ "$sum" != "$OPSUI_SHA256" ]; then echo "cp: the received file's SHA-256 is $sum, not $OPSUI_SHA256" >&2; exit 1; fi
chmod "$OPSUI_MODE" -- "$tmp"
mv -f -- "$tmp" "$dst"
trap - EXIT
echo "wrote $dst: $size bytes, mode $OPSUI_MODE, sha256 $(printf '%.12s' "$sum")"
`

// Copy puts req.Local at req.Remote on every host of req, atomically, and
// records it as an exec run ("cp LOCAL REMOTE"). A bad request (no such
// file, a relative or odd remote path) is refused with an *InvalidError
// before anything is recorded.
func (s *Service) Copy(ctx context.Context, req CopyRequest, emit func(remote.Event)) (remote.Result, *record.Recorder, error) {
	if err := req.Options.Validate(); err != nil {
		return remote.Result{}, nil, &InvalidError{err}
	}
	if err := checkRemotePath(req.Remote); err != nil {
		return remote.Result{}, nil, &InvalidError{err}
	}
	size, sum, mode, err := localFile(req.Local)
	if err != nil {
		return remote.Result{}, nil, &InvalidError{err}
	}
	if req.Mode != 0 {
		mode = req.Mode
	}
	if mode&^os.ModePerm != 0 {
		return remote.Result{}, nil, &InvalidError{fmt.Errorf("cp: mode %o is not a permission mode (0000-0777)", uint32(mode))}
	}
	targets, err := s.Targets(req.Hosts)
	if err != nil {
		return remote.Result{}, nil, err
	}
	opts := req.Options
	opts.Env = map[string]string{"OPSUI_DST": req.Remote, "OPSUI_SIZE": strconv.FormatInt(size, 10),
		"OPSUI_SHA256": sum, "OPSUI_MODE": fmt.Sprintf("%04o", uint32(mode))}
	command := "cp " + remote.Quote(req.Local) + " " + remote.Quote(req.Remote)
	return s.Record(ctx, store.NewRun{Kind: store.KindExec, Command: command}, targets, emit,
		func(emit func(remote.Event)) (remote.Result, error) {
			res, err := remote.Upload(ctx, s.Conn, targets, req.Local, copyScript, opts, emit)
			if err != nil {
				return res, fmt.Errorf("cp: %w", err)
			}
			return res, nil
		})
}

// checkRemotePath refuses a destination that is not a plain absolute
// file path: what the operator typed is where the file goes.
func checkRemotePath(p string) error {
	switch {
	case p == "":
		return errors.New("cp: no remote path")
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("cp: remote path %q is not absolute", p)
	case strings.HasSuffix(p, "/"):
		return fmt.Errorf("cp: remote path %q names a directory: name the file to write", p)
	case path.Clean(p) != p:
		return fmt.Errorf("cp: remote path %q is not clean (it would be %s)", p, path.Clean(p))
	case strings.ContainsFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Errorf("cp: remote path %q holds a control character", p)
	}
	return nil
}

// localFile returns the size, SHA-256 and permission bits of the regular
// file at name.
func localFile(name string) (int64, string, os.FileMode, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, "", 0, fmt.Errorf("cp: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, "", 0, fmt.Errorf("cp: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return 0, "", 0, fmt.Errorf("cp: %s is not a regular file", name)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", 0, fmt.Errorf("cp: reading %s: %w", name, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), fi.Mode().Perm(), nil
}
