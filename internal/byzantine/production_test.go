package byzantine

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/bftnode/bftnode"

// goPackage is what `go list -json` says of a package.
type goPackage struct {
	ImportPath string
	Dir        string
	Module     *struct{ Path string }
	GoFiles    []string
	CgoFiles   []string
	EmbedFiles []string
}

// deps lists the packages pkg links, itself included.
func deps(t *testing.T, pkg string) []goPackage {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-json", pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestNotInProductionBinary is must-show 1 of issue 18: the bftnode
// command links no Byzantine package, and in the packages of this module
// it links (the simulator's included, as `bftnode sim` runs it) the word
// byzantine appears only as documentation (see byzantineCode), in no file
// name and in no embedded file. The bftnode-sim and bftnode-byzantine
// binaries do link this package.
func TestNotInProductionBinary(t *testing.T) {
	pkgs := deps(t, module+"/cmd/bftnode")
	var own []goPackage
	for _, p := range pkgs {
		if strings.Contains(strings.ToLower(p.ImportPath), "byzantine") {
			t.Errorf("cmd/bftnode depends on %s", p.ImportPath)
		}
		if p.Module != nil && p.Module.Path == module {
			own = append(own, p)
		}
	}
	// The scan must see the packages it vouches for.
	for _, want := range []string{"sim", "sim/simcli", "consensus/engine", "p2p", "node", "types", "ui"} {
		if !slices.ContainsFunc(own, func(p goPackage) bool { return p.ImportPath == module+"/"+want }) {
			t.Fatalf("cmd/bftnode does not link %s/%s: this test no longer scans what it should (%d packages of the module)", module, want, len(own))
		}
	}
	files := 0
	for _, p := range own {
		for _, f := range append(slices.Clone(p.GoFiles), p.CgoFiles...) {
			path := filepath.Join(p.Dir, f)
			files++
			if strings.Contains(strings.ToLower(f), "byzantine") {
				t.Errorf("%s: a production file named after Byzantine behaviour", path)
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			found, err := byzantineCode(path, src)
			if err != nil {
				t.Fatal(err)
			}
			for _, pos := range found {
				t.Errorf("%s: byzantine outside documentation", pos)
			}
		}
		for _, f := range p.EmbedFiles {
			src, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(strings.ToLower(string(src)), "byzantine") {
				t.Errorf("%s: the embedded file %s mentions byzantine", p.ImportPath, f)
			}
		}
	}
	if files < 100 {
		t.Fatalf("scanned only %d Go files of %d packages", files, len(own))
	}
	for _, bin := range []string{"bftnode-sim", "bftnode-byzantine"} {
		linked := false
		for _, p := range deps(t, module+"/internal/byzantine/cmd/"+bin) {
			linked = linked || p.ImportPath == module+"/internal/byzantine"
		}
		if !linked {
			t.Errorf("%s does not link package byzantine", bin)
		}
	}
}

// protocolName is the one name with "byzantine" in it that production code
// may use: CometBFT's field of LightClientAttackEvidence
// (byzantine_validators), part of the evidence format, not a behaviour.
const protocolName = "byzantinevalidators"

// helpKeys are the struct fields whose string values are a command's help
// text (cobra.Command's, simcli.Extension's): documentation.
var helpKeys = []string{"Short", "Long", "Example", "Help"}

// byzantineCode returns where the Go source src names byzantine
// (case-insensitively) other than as documentation: comments and help
// text (string values of helpKeys fields) are documentation; any other
// identifier, string (an import path among them) or struct tag is code,
// but for protocolName.
func byzantineCode(path string, src []byte) ([]token.Position, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, parser.SkipObjectResolution)
	if err != nil {
		return nil, err
	}
	mentions := func(s string) bool {
		s = strings.ReplaceAll(strings.ToLower(s), "_", "")
		return strings.Contains(strings.ReplaceAll(s, protocolName, ""), "byzantine")
	}
	var found []token.Position
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.KeyValueExpr:
			if k, ok := n.Key.(*ast.Ident); ok && slices.Contains(helpKeys, k.Name) {
				// Its strings are help text; its identifiers are code.
				ast.Inspect(n.Value, func(v ast.Node) bool {
					if id, ok := v.(*ast.Ident); ok && mentions(id.Name) {
						found = append(found, fset.Position(id.Pos()))
					}
					return true
				})
				return false
			}
		case *ast.Ident:
			if mentions(n.Name) {
				found = append(found, fset.Position(n.Pos()))
			}
		case *ast.BasicLit:
			if mentions(n.Value) {
				found = append(found, fset.Position(n.Pos()))
			}
		}
		return true
	})
	return found, nil
}

// TestByzantineCodeScan: the scan of TestNotInProductionBinary finds
// Byzantine code, and lets documentation and the protocol's field be.
func TestByzantineCodeScan(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   string
		found int
	}{
		{"comments", "// Package p: Byzantine validators are test code.\npackage p\n\n/* byzantine */\nvar x = 1 // BYZANTINE\n", 0},
		{"help text", "package p\n\nvar c = Command{Long: `Byzantine ` + \"behaviours\", Example: \"--byzantine 1\", Help: name}\n", 0},
		{"protocol field", "package p\n\ntype E struct {\n\tByzantineValidators []int `json:\"byzantine_validators\"`\n}\n\nvar s = fmt.Sprintf(\"%d ByzantineValidators\", 1)\n", 0},
		{"identifier", "package p\n\nvar byzantineMode = 1\n", 1},
		{"field", "package p\n\ntype C struct{ Byzantine int }\n", 1},
		{"string", "package p\n\nvar s = \"byzantine count\"\n", 1},
		{"import", "package p\n\nimport _ \"example.com/internal/byzantine\"\n", 1},
		{"tag", "package p\n\ntype C struct {\n\tN int `json:\"byzantine\"`\n}\n", 1},
		{"code in help", "package p\n\nvar c = Command{Long: byzantineHelp()}\n", 1},
		{"other key", "package p\n\nvar c = Config{Name: \"byzantine\"}\n", 1},
	} {
		got, err := byzantineCode(tc.name+".go", []byte(tc.src))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(got) != tc.found {
			t.Errorf("%s: found %v, want %d", tc.name, got, tc.found)
		}
	}
	if _, err := byzantineCode("bad.go", []byte("package")); err == nil {
		t.Error("a file that does not parse was scanned")
	}
}
