package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestLinkSharedScript runs the shared-links step in sh on a release
// directory: good entries are linked (a missing directory created from the
// release's copy), and one bad entry, a newline inside one included,
// refuses the step with nothing linked.
func TestLinkSharedScript(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []string
		n       int // OPSUI_SHARED_N when not len(entries)
		refused string
	}{
		{name: "linked", entries: []string{"logs/", "config/local.py", "media"}},
		{name: "a newline inside an entry", entries: []string{"logs/\nmedia"}, n: 1, refused: "holds a newline"},
		{name: "absolute", entries: []string{"logs/", "/etc"}, refused: "is an absolute path"},
		{name: "dot dot", entries: []string{"logs/", "a/../../x"}, refused: "'..' component"},
		{name: "a file opsui writes", entries: []string{"REVISION"}, refused: "a file opsui writes"},
		{name: "through a link", entries: []string{"linked/x"}, refused: "a symbolic link in the release"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			rel, shared := filepath.Join(root, "release"), filepath.Join(root, "shared")
			for _, d := range []string{rel + "/media", rel + "/config", shared + "/config"} {
				os.MkdirAll(d, 0o755)
			}
			os.WriteFile(rel+"/media/a.png", []byte("png"), 0o644)
			os.WriteFile(rel+"/config/local.py", []byte("release's"), 0o644)
			os.WriteFile(shared+"/config/local.py", []byte("shared"), 0o644)
			os.Symlink(root, rel+"/linked")
			n := tc.n
			if n == 0 {
				n = len(tc.entries)
			}
			cmd := exec.Command("sh", "-c", linkSharedScript)
			cmd.Env = append(os.Environ(), "RELEASE_DIR="+rel, "SHARED_DIR="+shared, "HOST=web1",
				"OPSUI_SHARED="+strings.Join(tc.entries, "\n"), "OPSUI_SHARED_N="+strconv.Itoa(n))
			out, err := cmd.CombinedOutput()
			links := 0
			filepath.WalkDir(rel, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.Type()&os.ModeSymlink != 0 && p != rel+"/linked" {
					links++
				}
				return nil
			})
			if tc.refused != "" {
				if err == nil || !strings.Contains(string(out), tc.refused) || links != 0 {
					t.Errorf("want refused (%q) with nothing linked; got %v, %d links:\n%s", tc.refused, err, links, out)
				}
				return
			}
			if err != nil || links != 3 {
				t.Fatalf("want 3 links; got %v, %d links:\n%s", err, links, out)
			}
			if b, _ := os.ReadFile(rel + "/config/local.py"); string(b) != "shared" {
				t.Errorf("config/local.py reads %q through its link, want the shared file", b)
			}
			if b, _ := os.ReadFile(shared + "/media/a.png"); string(b) != "png" {
				t.Errorf("the shared media directory was not created from the release's copy: %q", b)
			}
			if fi, err := os.Stat(shared + "/logs"); err != nil || !fi.IsDir() {
				t.Errorf("shared logs/ not created: %v", err)
			}
		})
	}
}
