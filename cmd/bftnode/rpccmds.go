package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

const defaultNode = "http://127.0.0.1:26657"

type rpcOpts struct {
	node    string
	timeout time.Duration
}

func (o *rpcOpts) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.node, "node", defaultNode, "the node's JSON-RPC address")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 30*time.Second, "how long to wait for the reply")
}

func (c *cli) txCmd() *cobra.Command {
	var o rpcOpts
	var async, sync bool
	cmd := &cobra.Command{
		Use:   "tx DATA",
		Short: "Submit a transaction and, by default, wait until it is committed",
		Long: `tx sends DATA as a transaction through the node's JSON-RPC. By default it
waits for the block that commits it (broadcast_tx_commit) and prints the
result; --sync waits only for the mempool check, --async not at all.
The kvstore app takes key=value transactions.`,
		Example: `  bftnode tx foo=bar
  bftnode tx --sync name=satoshi --node http://127.0.0.1:26667`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			method := "broadcast_tx_commit"
			switch {
			case async && sync:
				return fmt.Errorf("--async and --sync exclude each other")
			case async:
				method = "broadcast_tx_async"
			case sync:
				method = "broadcast_tx_sync"
			}
			cl, err := newRPCClient(o.node, o.timeout)
			if err != nil {
				return err
			}
			res, err := cl.call(cmd.Context(), method, map[string]any{"tx": []byte(args[0])})
			if err != nil {
				return err
			}
			if err := c.printJSON(res); err != nil {
				return err
			}
			return txFailure(method, res)
		},
	}
	cmd.Flags().BoolVar(&async, "async", false, "return as soon as the node received the tx")
	cmd.Flags().BoolVar(&sync, "sync", false, "return after the mempool's check")
	o.add(cmd)
	return cmd
}

// txFailure turns a non-zero result code into an error.
func txFailure(method string, res json.RawMessage) error {
	type result struct {
		Code uint32 `json:"code"`
		Log  string `json:"log"`
	}
	var r struct {
		result
		CheckTx  *result `json:"check_tx"`
		TxResult *result `json:"tx_result"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return fmt.Errorf("%s: unexpected result: %w", method, err)
	}
	for _, x := range []struct {
		name string
		r    *result
	}{{"check", &r.result}, {"check_tx", r.CheckTx}, {"tx_result", r.TxResult}} {
		if x.r != nil && x.r.Code != 0 {
			return fmt.Errorf("transaction rejected (%s code %d): %s", x.name, x.r.Code, x.r.Log)
		}
	}
	return nil
}

func (c *cli) queryCmd() *cobra.Command {
	var o rpcOpts
	var path string
	var height int64
	cmd := &cobra.Command{
		Use:   "query KEY",
		Short: "Query the application's committed state for KEY",
		Long: `query asks the application (abci_query) for KEY and prints the value, or
says that the key is absent. --path and --height are passed to the app.`,
		Example: `  bftnode query foo
  bftnode query foo --height 10 --node http://127.0.0.1:26667`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := newRPCClient(o.node, o.timeout)
			if err != nil {
				return err
			}
			res, err := cl.call(cmd.Context(), "abci_query", map[string]any{
				"path": path, "data": hex.EncodeToString([]byte(args[0])), "height": strconv.FormatInt(height, 10), "prove": false,
			})
			if err != nil {
				return err
			}
			var r struct {
				Response struct {
					Code   uint32          `json:"code"`
					Log    string          `json:"log"`
					Value  []byte          `json:"value"`
					Height json.RawMessage `json:"height"`
				} `json:"response"`
			}
			if err := json.Unmarshal(res, &r); err != nil {
				return fmt.Errorf("abci_query: unexpected result: %w", err)
			}
			q := r.Response
			if q.Code != 0 {
				return fmt.Errorf("query failed (code %d): %s", q.Code, q.Log)
			}
			h := string(bytes.Trim(q.Height, `"`))
			if q.Value == nil {
				_, err = fmt.Fprintf(c.stdout, "%s: not found (height %s)\n", args[0], h)
				return err
			}
			_, err = fmt.Fprintf(c.stdout, "%s=%s (height %s)\n", args[0], q.Value, h)
			return err
		},
	}
	cmd.Flags().StringVar(&path, "path", "", "query path passed to the app")
	cmd.Flags().Int64Var(&height, "height", 0, "height to query (0: latest)")
	o.add(cmd)
	return cmd
}

func (c *cli) statusCmd() *cobra.Command {
	var o rpcOpts
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print the node's status: identity, latest block, validator",
		Example: `  bftnode status
  bftnode status --node http://127.0.0.1:26667`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := newRPCClient(o.node, o.timeout)
			if err != nil {
				return err
			}
			res, err := cl.call(cmd.Context(), "status", nil)
			if err != nil {
				return err
			}
			return c.printJSON(res)
		},
	}
	o.add(cmd)
	return cmd
}

func (c *cli) printJSON(raw json.RawMessage) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		buf.Reset()
		buf.Write(raw)
	}
	buf.WriteByte('\n')
	_, err := c.stdout.Write(buf.Bytes())
	return err
}
