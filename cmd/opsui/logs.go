package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/spf13/cobra"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
)

func newLogsCmd(c *cli) *cobra.Command {
	var (
		sel       selector
		ssh       sshFlags
		files     []string
		grep      string
		since     int
		save      string
		overwrite bool
		buffer    int
		errs      errorsFlags
	)
	cmd := &cobra.Command{
		Use:   "logs [--env E] [--role R] [--host H,...] [--file PATH]... [--grep RE] [--since-lines N] [--save FILE [--overwrite]]",
		Short: "Follow the log files of many hosts at once, each line prefixed with its host",
		Long: `Follow (tail -F: rotation is followed) the log files of the selected hosts
until ctrl+c, starting with the last --since-lines lines of each. The files are
the ones the inventory lists for the hosts' roles (role settings "logs"; with
--role, that role's only), or the --file paths given instead.

Every line is prefixed with its host (and the file's name when a host has
several), coloured on a terminal. A host that drops is marked in the stream and
retried with backoff; when it is back, a "reconnected" marker says what was
caught up: the lines written meanwhile follow it, none is shown twice.
--grep keeps the lines matching a case-insensitive regular expression (markers
are always shown); --save also writes the shown lines, with the time each
arrived, to a new file, created 0600 and never through a symlink (an existing
file is replaced only with --overwrite).`,
		Example: `  opsui logs --env production --role web --grep 'error|traceback'
  opsui logs --host web1,web2 --file /var/log/nginx/error.log --since-lines 100
  opsui logs --env production --role web --errors --json | jq '.groups[] | select(.count > 10)'`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		if since < 0 {
			return usageError{fmt.Errorf("--since-lines %d: must not be negative", since)}
		}
		if err := errs.check(); err != nil {
			return err
		}
		flt, err := logs.NewFilter(grep, true)
		if err != nil {
			return usageError{err}
		}
		f, err := s.LoadFleet(ctx)
		if err != nil {
			return err
		}
		hosts, err := sel.pick(f)
		if err != nil {
			return err
		}
		pool, sshCfg, err := ssh.pool(c)
		if err != nil {
			return err
		}
		defer pool.Close()
		svc := &ops.Service{Store: s, Conn: pool, SSH: sshCfg}
		sources, without, err := svc.LogSources(f, hosts, ops.LogsQuery{Role: sel.flt.Role, Files: files})
		if err != nil {
			return opError(err)
		}
		if len(without) > 0 {
			fmt.Fprintf(c.stderr, "opsui: no log files for %s (set the role's logs or give --file); left out\n", strings.Join(without, ", "))
		}
		if errs.on {
			return c.printLogErrors(ctx, svc, f, sources, errs.lines(cmd, since), errs.app, errs.asJSON)
		}
		p := newLogPrinter(c.stdout, sources, flt, colorFor(c.stdout))
		if save != "" {
			sf, err := logs.CreateSaveFile(save, overwrite)
			if errors.Is(err, fs.ErrExist) {
				return usageError{fmt.Errorf("--save: %s exists: choose another file or pass --overwrite", save)}
			}
			if err != nil {
				return fmt.Errorf("--save: %w", err)
			}
			defer sf.Close()
			files := map[string][]string{}
			for _, src := range sources {
				files[src.Host.Name] = src.Paths
			}
			p.save = logs.NewSaver(sf, files)
		}
		n := 0
		for _, src := range sources {
			n += len(src.Paths)
		}
		fmt.Fprintf(c.stderr, "opsui: following %d files on %d hosts (ctrl+c to stop)\n", n, len(sources))
		stop := p.flushEvery(ctx, 100*time.Millisecond)
		err = svc.TailLogs(ctx, sources, logs.Options{SinceLines: since, Buffer: buffer}, p.line)
		stop()
		if ferr := p.flush(); ferr != nil && err == nil {
			err = fmt.Errorf("--save: %w", ferr)
		}
		return err
	})
	sel.register(cmd)
	ssh.registerConn(cmd)
	cmd.Flags().StringArrayVar(&files, "file", nil, "follow this path on every selected host instead of the roles' logs (repeatable)")
	cmd.Flags().StringVar(&grep, "grep", "", "show only lines matching this case-insensitive regular expression")
	cmd.Flags().IntVar(&since, "since-lines", logs.DefaultSinceLines, "start with the last N lines of each file")
	cmd.Flags().StringVar(&save, "save", "", "also write the shown lines, with their arrival time, to this new file (0600; never through a symlink)")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "let --save replace an existing file")
	cmd.Flags().IntVar(&buffer, "buffer", logs.DefaultBuffer, "lines kept per host (the console's buffer; unused headless)")
	_ = cmd.Flags().MarkHidden("buffer")
	errs.register(cmd)
	return cmd
}

// logPrinter writes followed lines for a terminal or a pipe: the host (and
// file, when a host has several) in front, coloured by host and level on a
// terminal. It is safe for concurrent use, as logs.Tail's emit must be.
type logPrinter struct {
	mu     sync.Mutex
	w      *bufio.Writer
	save   *logs.Saver // --save's copy
	filter logs.Filter
	th     themes.Theme
	prefix map[[2]string]string // by host and file
	err    error
}

func newLogPrinter(w io.Writer, sources []logs.Source, flt logs.Filter, th themes.Theme) *logPrinter {
	p := &logPrinter{w: bufio.NewWriterSize(w, 64<<10), filter: flt, th: th,
		prefix: map[[2]string]string{}}
	several := false
	for _, s := range sources {
		several = several || len(s.Paths) > 1
	}
	width := 0
	label := func(host, file string) string {
		if several {
			return host + " " + path.Base(file)
		}
		return host
	}
	for _, s := range sources {
		for _, f := range s.Paths {
			width = max(width, lipgloss.Width(label(s.Host.Name, f)))
		}
	}
	for _, s := range sources {
		for _, f := range s.Paths {
			text := fmt.Sprintf("%-*s |", width, label(s.Host.Name, f))
			if !th.Plain {
				text = lipgloss.NewStyle().Foreground(th.HostColor(s.Host.Name)).Render(text)
			}
			p.prefix[[2]string{s.Host.Name, f}] = text
		}
	}
	return p
}

// line prints one line, or leaves it out when the filter does not match.
func (p *logPrinter) line(l logs.Line) {
	if l.Kind == logs.KindLine && !p.filter.Match(l.Text) {
		return
	}
	k := [2]string{l.Host, l.File}
	text := l.Text
	if l.Kind.IsMarker() {
		text = "-- " + text + " --"
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.save != nil {
		p.save.Write(l)
	}
	if !p.th.Plain {
		text = p.style(l).Render(text)
	}
	p.w.WriteString(p.prefix[k])
	p.w.WriteByte(' ')
	p.w.WriteString(text)
	p.w.WriteByte('\n')
}

func (p *logPrinter) style(l logs.Line) lipgloss.Style {
	st := lipgloss.NewStyle()
	switch {
	case l.Kind == logs.KindDropped:
		return st.Bold(true).Foreground(p.th.Error)
	case l.Kind.IsMarker():
		return st.Bold(true).Foreground(p.th.Warn)
	case l.Level >= logs.LevelError:
		return st.Foreground(p.th.Error)
	case l.Level == logs.LevelWarning:
		return st.Foreground(p.th.Warn)
	}
	return st
}

// flushEvery flushes the output every d until ctx ends or stop is called,
// so a quiet stream still shows its lines at once.
func (p *logPrinter) flushEvery(ctx context.Context, d time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = p.flush()
			}
		}
	}()
	return func() { cancel(); <-done }
}

// flush writes out what is buffered and returns the first error of the
// saved copy.
func (p *logPrinter) flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = p.w.Flush()
	if p.save != nil {
		if err := p.save.Flush(); err != nil && p.err == nil {
			p.err = err
		}
	}
	return p.err
}
