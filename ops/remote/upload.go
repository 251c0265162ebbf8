package remote

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"
)

// Input is one host's standard input: exactly Size bytes read from R. Run
// reports the bytes sent as EventProgress (Bytes of Total) and does not
// close R.
type Input struct {
	R    io.Reader
	Size int64
}

// Upload streams the local file at path to every target at once, as the
// standard input of remoteCmd (for instance ExtractTarCommand(dir)), and
// returns each host's outcome as Run does; opts.Stdin is replaced.
//
// The file is opened once and each host reads it through its own
// io.SectionReader, so it is never held in memory, let alone once per
// host. Each host reports the bytes sent as EventProgress (Bytes of Total),
// at most once per opts.ProgressInterval and once at the end. A host that
// fails does not affect the others; cancelling ctx stops every transfer
// and remote command.
func Upload(ctx context.Context, conn Connector, targets []Target, path, remoteCmd string, opts RunOptions, emit func(Event)) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Result{}, fmt.Errorf("upload: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Result{}, fmt.Errorf("upload: %s is not a regular file", path)
	}
	size := fi.Size()
	opts.Stdin = func(Target) (Input, error) {
		return Input{R: io.NewSectionReader(f, 0, size), Size: size}, nil
	}
	return Run(ctx, conn, targets, remoteCmd, opts, emit)
}

// ExtractTarCommand returns the remote command that unpacks a gzipped tar
// read from standard input into dir, creating dir first.
func ExtractTarCommand(dir string) string {
	return "mkdir -p -- " + Quote(dir) + " && tar -xzf - -C " + Quote(dir)
}

// WriteFileCommand returns the remote command that writes standard input
// to the file at path, atomically: into a temporary file beside it that is
// renamed over path only once complete, so a cut transfer leaves no
// half-written file under the final name.
func WriteFileCommand(path string) string {
	tmp := Quote(path + ".opsui-part")
	return "cat > " + tmp + " && mv -f -- " + tmp + " " + Quote(path)
}

// sendInput copies exactly in.Size bytes of in.R to the command, reporting
// progress. It never closes w: the open channel is the command's lifeline.
// Only a failure of in.R is an error: when the channel breaks, the
// command's own end says why.
func sendInput(w io.Writer, in Input, every time.Duration, he *hostEmitter) error {
	pw := &progressWriter{w: w, total: in.Size, every: every, he: he}
	buf := make([]byte, 64<<10)
	for pw.n < in.Size {
		n, err := in.R.Read(buf[:min(int64(len(buf)), in.Size-pw.n)])
		if n > 0 {
			if _, werr := pw.Write(buf[:n]); werr != nil {
				return nil
			}
		}
		if pw.n == in.Size {
			break
		}
		if err == io.EOF {
			return fmt.Errorf("input ended after %d of %d bytes", pw.n, in.Size)
		}
		if err != nil {
			return err
		}
	}
	pw.report(true)
	_, _ = w.Write([]byte{'\n'}) // the end-of-input mark: see remoteCommand
	return nil
}

// progressWriter counts the bytes written through it and sends them as
// rate-limited progress events.
type progressWriter struct {
	w     io.Writer
	n     int64
	total int64
	every time.Duration
	last  time.Time
	he    *hostEmitter
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.n += int64(n)
	p.report(false)
	return n, err
}

func (p *progressWriter) report(final bool) {
	if now := time.Now(); final || now.Sub(p.last) >= p.every {
		p.last = now
		p.he.send(Event{Kind: EventProgress, Bytes: p.n, Total: p.total})
	}
}
