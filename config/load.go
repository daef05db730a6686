package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// ErrNotInitialized means the home directory has no config.toml.
var ErrNotInitialized = errors.New("home directory not initialized")

// LookupEnv looks up an environment variable; os.LookupEnv in production.
type LookupEnv func(key string) (string, bool)

// Load reads home/config/config.toml over the defaults, then applies the
// BFTNODE_* environment variables found by lookup (nil skips them). Flags are
// applied by the caller with Set, after Load, and the result checked with
// Validate: the precedence is defaults < file < environment < flags.
func Load(home string, lookup LookupEnv) (Config, error) {
	cfg := Default(home)
	path := cfg.ConfigFile()
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Config{}, fmt.Errorf("%w: %s does not exist; run `bftnode init --home %s` first", ErrNotInitialized, path, home)
	}
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := cfg.decode(string(data), path); err != nil {
		return Config{}, err
	}
	cfg.RootDir = home
	if lookup != nil {
		if err := cfg.ApplyEnv(lookup); err != nil {
			return Config{}, err
		}
	}
	return cfg, nil
}

// decode reads TOML text over c, refusing keys it does not know.
func (c *Config) decode(text, path string) error {
	md, err := toml.Decode(text, c)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrInvalid, path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fmt.Errorf("%w: %s: unknown keys %s; remove them or fix their spelling (`bftnode config show` lists the known keys)",
			ErrInvalid, path, strings.Join(keys, ", "))
	}
	return nil
}

// EnvName is the environment variable that overrides key: BFTNODE_ and the
// key in upper case with dots as underscores (rpc.laddr -> BFTNODE_RPC_LADDR).
func EnvName(key string) string {
	return EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// ApplyEnv sets every key whose environment variable (see EnvName) is set.
func (c *Config) ApplyEnv(lookup LookupEnv) error {
	for _, key := range Keys() {
		name := EnvName(key)
		if v, ok := lookup(name); ok {
			if err := c.Set(key, v); err != nil {
				return fmt.Errorf("environment variable %s: %w", name, err)
			}
		}
	}
	return nil
}

// Keys lists every settable key, dotted by section (moniker, rpc.laddr, …),
// in file order.
func Keys() []string {
	var keys []string
	walk(reflect.ValueOf(&Config{}).Elem(), "", func(key string, _ reflect.Value) bool {
		keys = append(keys, key)
		return true
	})
	return keys
}

// Set parses value into the field named by key (see Keys). Durations take
// Go's syntax ("1s", "500ms"), booleans true/false.
func (c *Config) Set(key, value string) error {
	found := false
	var err error
	walk(reflect.ValueOf(c).Elem(), "", func(k string, f reflect.Value) bool {
		if k != key {
			return true
		}
		found = true
		err = setValue(f, value)
		return false
	})
	if !found {
		return fmt.Errorf("%w: unknown key %q", ErrInvalid, key)
	}
	if err != nil {
		return fmt.Errorf("%w: %s = %q: %v", ErrInvalid, key, value, err)
	}
	return nil
}

// Get formats the value of key, or "" and false for an unknown key.
func (c *Config) Get(key string) (string, bool) {
	var out string
	found := false
	walk(reflect.ValueOf(c).Elem(), "", func(k string, f reflect.Value) bool {
		if k != key {
			return true
		}
		found = true
		out = formatValue(f)
		return false
	})
	return out, found
}

var durationType = reflect.TypeFor[time.Duration]()

// walk calls fn with each leaf field and its dotted key until fn returns false.
func walk(v reflect.Value, prefix string, fn func(string, reflect.Value) bool) bool {
	t := v.Type()
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("toml")
		if tag == "" || tag == "-" {
			continue
		}
		key := prefix + tag
		f := v.Field(i)
		if f.Kind() == reflect.Struct {
			if !walk(f, key+".", fn) {
				return false
			}
			continue
		}
		if !fn(key, f) {
			return false
		}
	}
	return true
}

func setValue(f reflect.Value, s string) error {
	if f.Type() == durationType {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("want a duration such as \"1s\" or \"500ms\"")
		}
		f.SetInt(int64(d))
		return nil
	}
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		f.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("want an integer")
		}
		if f.OverflowInt(n) {
			return fmt.Errorf("out of range")
		}
		f.SetInt(n)
	case reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("want a non-negative integer")
		}
		f.SetUint(n)
	default:
		return fmt.Errorf("unsupported field kind %s", f.Kind())
	}
	return nil
}

func formatValue(f reflect.Value) string {
	if f.Type() == durationType {
		return time.Duration(f.Int()).String()
	}
	return fmt.Sprint(f.Interface())
}

// IsBoolKey reports whether key holds a boolean (for flag definitions).
func IsBoolKey(key string) bool {
	var isBool bool
	walk(reflect.ValueOf(&Config{}).Elem(), "", func(k string, f reflect.Value) bool {
		if k == key {
			isBool = f.Kind() == reflect.Bool
			return false
		}
		return true
	})
	return isBool
}
