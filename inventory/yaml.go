package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// fileHeader opens every exported fleet file. It is a comment, so importing
// ignores it and an export of an import reproduces it.
const fileHeader = "# opsui fleet file: import with `opsui inventory import FILE`.\n"

// DecodeYAML parses and validates a fleet file. name is used in error messages.
// Unknown keys are rejected, and every problem found is returned at once as
// Problems, each with its line and column, in file order: a value of the
// wrong type is left out of the fleet (and reported), so the rest is still
// validated.
func DecodeYAML(name string, data []byte) (*Fleet, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &Fleet{}, nil
		}
		return nil, Problems{yamlProblem(name, err)}
	}
	w := walker{file: name, pos: map[string]*yaml.Node{}}
	// A second document in one file is almost always a paste error.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		w.problems = append(w.problems, Problem{File: name, Line: extra.Line, Column: extra.Column, Msg: "more than one YAML document (a fleet file holds exactly one)"})
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return &Fleet{}, nil
		}
		root = root.Content[0]
	}

	var f Fleet
	if w.walk(root, reflect.TypeOf(Fleet{}), "") {
		// The walk took out what cannot decode: what is left can.
		if err := root.Decode(&f); err != nil {
			w.problems = append(w.problems, yamlProblem(name, err))
		}
	}
	ps := w.problems
	if err := Validate(&f); err != nil {
		var vps Problems
		errors.As(err, &vps)
		for _, p := range vps {
			if w.reported(p.Path) {
				continue // the value was left out: its problem is said already
			}
			p.File = name
			if n := w.nearest(p.Path); n != nil {
				p.Line, p.Column = n.Line, n.Column
			}
			ps = append(ps, p)
		}
	}
	if len(ps) > 0 {
		slices.SortStableFunc(ps, func(a, b Problem) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Column - b.Column
		})
		return nil, ps
	}
	return &f, nil
}

// EncodeYAML writes the fleet in the canonical fleet-file form: DecodeYAML of
// the result followed by EncodeYAML gives the same bytes.
func EncodeYAML(f *Fleet) ([]byte, error) {
	var n yaml.Node
	if err := n.Encode(f); err != nil {
		return nil, fmt.Errorf("encode fleet: %w", err)
	}
	flowShortLists(&n)
	var buf bytes.Buffer
	buf.WriteString(fileHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return nil, fmt.Errorf("encode fleet: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode fleet: %w", err)
	}
	return buf.Bytes(), nil
}

// flowShortLists writes lists of plain scalars as [a, b] so a host stays
// readable on a few lines; multi-line values keep block style.
func flowShortLists(n *yaml.Node) {
	if n.Kind == yaml.SequenceNode && len(n.Content) > 0 {
		flow := true
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || strings.ContainsAny(c.Value, "\n") {
				flow = false
				break
			}
		}
		if flow {
			n.Style = yaml.FlowStyle
		}
	}
	for _, c := range n.Content {
		flowShortLists(c)
	}
}

// yamlProblem turns a yaml.v3 error ("yaml: line 3: ...") into a Problem.
func yamlProblem(file string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	p := Problem{File: file, Msg: msg}
	var line int
	if _, scanErr := fmt.Sscanf(msg, "line %d:", &line); scanErr == nil {
		p.Line = line
		p.Msg = strings.TrimSpace(msg[strings.Index(msg, ":")+1:])
	}
	// Don't leak Go type names into an operator's error message.
	p.Msg = strings.ReplaceAll(p.Msg, "inventory.", "")
	return p
}

// walker checks a YAML tree against the Go types it will decode into before
// decoding, so unknown keys (a typo such as "rolse:") are reported with their
// position instead of being silently dropped, and remembers where each field
// is so validation problems can name their line.
type walker struct {
	file     string
	pos      map[string]*yaml.Node
	problems Problems
}

// walk checks n against t and takes out of the tree every value that would
// not decode (an unknown key, a list where a mapping belongs, a word where
// a number does), after reporting it. It reports whether n itself can stay.
func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) bool {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	w.pos[path] = n
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return true
	}
	if implementsText(t) {
		return w.scalar(n, t, path)
	}
	if t == envValueType {
		return w.envValue(n, path)
	}
	if t == buildType {
		return w.build(n, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.problem(n, path, "expected a mapping of fields, found %s", kindName(n))
			return false
		}
		fields := yamlFields(t)
		kept := n.Content[:0:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				w.problem(k, join(path, k.Value), "unknown field %q%s", k.Value, suggest(k.Value, fields))
				continue
			}
			if w.walk(v, f.Type, join(path, k.Value)) {
				kept = append(kept, k, v)
			}
		}
		n.Content = kept
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.problem(n, path, "expected a list, found %s", kindName(n))
			return false
		}
		for i, c := range n.Content {
			if !w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i)) {
				// Keeps the indexes of the rest; its problems are said.
				n.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: c.Line, Column: c.Column}
			}
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.problem(n, path, "expected a mapping, found %s", kindName(n))
			return false
		}
		kept := n.Content[:0:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ok := w.walk(v, t.Elem(), join(path, k.Value))
			w.pos[join(path, k.Value)] = k
			if ok {
				kept = append(kept, k, v)
			}
		}
		n.Content = kept
	default:
		return w.scalar(n, t, path)
	}
	return true
}

var envValueType = reflect.TypeOf(EnvValue{})

// envValue checks an environment value: a single value, or a mapping
// holding only secret: NAME.
func (w *walker) envValue(n *yaml.Node, path string) bool {
	switch n.Kind {
	case yaml.ScalarNode:
		return true
	case yaml.MappingNode:
		ok := true
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value != "secret" {
				w.problem(k, join(path, k.Value), "unknown field %q in an environment value (want {secret: NAME})%s", k.Value,
					suggest(k.Value, map[string]reflect.StructField{"secret": {}}))
				ok = false
				continue
			}
			found = true
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				w.problem(v, join(path, k.Value), "secret: wants the name of a secret declared in the app's secrets:")
				ok = false
			}
		}
		if !found && ok {
			w.problem(n, path, "an environment value is a string or {secret: NAME}")
			ok = false
		}
		return ok
	}
	w.problem(n, path, "an environment value is a string or {secret: NAME}, found %s", kindName(n))
	return false
}

// scalar checks that a leaf value decodes into its Go type, so that "port:
// ssh" or "timeout: soon" is reported at its own line.
func (w *walker) scalar(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.ScalarNode {
		w.problem(n, path, "expected a single value, found %s", kindName(n))
		return false
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		switch {
		case implementsText(t):
			w.problem(n, path, "%s", err)
		case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
			w.problem(n, path, "expected a whole number, found %q", n.Value)
		case t.Kind() == reflect.Bool:
			w.problem(n, path, "expected true or false, found %q", n.Value)
		default:
			w.problem(n, path, "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return false
	}
	return true
}

// reported reports whether a problem was found at path or above it: a
// value left out then fails validation for a reason already said.
func (w *walker) reported(path string) bool {
	for _, p := range w.problems {
		if p.Path == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(path, p.Path); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			return true
		}
	}
	return false
}

func (w *walker) problem(n *yaml.Node, path, format string, args ...any) {
	w.problems = append(w.problems, Problem{File: w.file, Line: n.Line, Column: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// nearest returns the node recorded for path or for its closest ancestor.
func (w *walker) nearest(path string) *yaml.Node {
	for path != "" {
		if n, ok := w.pos[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return w.pos[""]
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

var textUnmarshaler = reflect.TypeOf((*interface{ UnmarshalText([]byte) error })(nil)).Elem()

func implementsText(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(textUnmarshaler)
}

// yamlFields maps the YAML keys of struct type t to their fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f
	}
	return out
}

// suggest returns ` (did you mean "roles"?)` for the closest known key, or
// lists the known keys when none is close.
func suggest(key string, fields map[string]reflect.StructField) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	slices.Sort(names)
	if best := Closest(key, names); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return fmt.Sprintf(" (known fields: %s)", strings.Join(names, ", "))
}

// Closest returns the candidate within two edits of name (the first of the
// nearest), or "" when none is that close. It turns "web01" into a "did you
// mean web1?" instead of a bare "unknown host".
func Closest(name string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Damerau–Levenshtein distance (with adjacent
// transpositions), enough to catch "rolse" for "roles".
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
