package sim

import (
	"errors"
	"io/fs"
	"math/rand/v2"
	"path"
	"strings"
	"sync"

	"github.com/bftnode/bftnode/consensus/wal"
	"github.com/bftnode/bftnode/internal/diskfs"
	"github.com/bftnode/bftnode/privval"
	"github.com/bftnode/bftnode/types"
)

// errPowerCut is what a disk the simulator cut the power of returns.
var errPowerCut = errors.New("sim: power cut")

// faultDisk is a validator's disk for the WAL and the signer's state: an
// in-memory file system (diskfs.Mem) on which the simulator can cut the
// power halfway through an event. Armed, the WAL's files fail from their
// n-th next write or sync on, or the state file's next sync fails after
// its write; the engine then stops with a storage error and the node
// crashes there. The two are armed separately: the signer saves its state
// while the WAL syncs, on another goroutine, so only failures counted per
// file keep a run a function of its seed.
type faultDisk struct {
	*diskfs.Mem
	mu        sync.Mutex
	walLeft   int // WAL writes and syncs left before the cut; <0: not armed
	walCut    bool
	stateCut  bool // the state file's next sync fails
	stateDone bool // ... and it did
}

func newFaultDisk() *faultDisk { return &faultDisk{Mem: diskfs.NewMem(), walLeft: -1} }

// armWAL cuts the WAL's power after ops more writes or syncs.
func (d *faultDisk) armWAL(ops int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.walLeft = ops
}

// armState makes the state file's next sync fail, its write done.
func (d *faultDisk) armState() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stateCut = true
}

// failed reports whether a cut happened.
func (d *faultDisk) failed() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.walCut || d.stateDone
}

// crash loses what was not synced and disarms the disk. It reports
// whether the power was cut halfway through an event, and whether data
// was lost.
func (d *faultDisk) crash(rng *rand.Rand) (cut, lost bool) {
	d.mu.Lock()
	cut = d.walCut || d.stateDone
	d.walLeft, d.walCut, d.stateCut, d.stateDone = -1, false, false, false
	d.mu.Unlock()
	return cut, d.Crash(rng) > 0
}

// op says whether a write or sync of the file name may go ahead.
func (d *faultDisk) op(name string, sync bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case strings.HasPrefix(path.Clean(name), walDir):
		if d.walCut {
			return errPowerCut
		}
		if d.walLeft == 0 {
			d.walCut = true
			return errPowerCut
		}
		if d.walLeft > 0 {
			d.walLeft--
		}
	case sync && d.stateCut && strings.HasPrefix(path.Clean(name), statePath):
		d.stateCut, d.stateDone = false, true
		return errPowerCut
	case d.stateDone && strings.HasPrefix(path.Clean(name), statePath):
		return errPowerCut
	}
	return nil
}

func (d *faultDisk) OpenFile(name string, flag int, perm fs.FileMode) (diskfs.File, error) {
	f, err := d.Mem.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return faultFile{File: f, d: d, name: name}, nil
}

func (d *faultDisk) Rename(oldname, newname string) error {
	if err := d.op(newname, false); err != nil {
		return err
	}
	return d.Mem.Rename(oldname, newname)
}

type faultFile struct {
	diskfs.File
	d    *faultDisk
	name string
}

func (f faultFile) Write(p []byte) (int, error) {
	if err := f.d.op(f.name, false); err != nil {
		return 0, err
	}
	return f.File.Write(p)
}

func (f faultFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.d.op(f.name, false); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f faultFile) Truncate(size int64) error {
	if err := f.d.op(f.name, false); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f faultFile) Sync() error {
	if err := f.d.op(f.name, true); err != nil {
		return err
	}
	return f.File.Sync()
}

func (f faultFile) SyncData() error {
	if err := f.d.op(f.name, true); err != nil {
		return err
	}
	return f.File.SyncData()
}

// checkDurable checks the ordering rule on the disk as a crash would find
// it, when a correct validator's own message (signature sig, at hrs)
// leaves it for the first time: the WAL must hold it durably, and the
// signer's durable last-sign state must be at hrs or past it.
func (n *node) checkDurable(what string, sig []byte, hrs privval.HRS) {
	if n.gossip.checked[string(sig)] {
		return
	}
	n.gossip.checked[string(sig)] = true
	if !n.disk.SyncedContains(path.Join(walDir, wal.FileName), sig) {
		n.w.fail(ViolationDurability, hrs.Height, "correct validator %d sent its %s of round %d before its WAL record was durable",
			n.idx, what, hrs.Round)
	}
	saved, err := privval.ParseLastSigned(n.disk.Synced(statePath))
	if err != nil || saved.Compare(hrs) < 0 {
		n.w.fail(ViolationDurability, hrs.Height, "correct validator %d sent its %s of round %d while its signer's durable state was at %v (%v)",
			n.idx, what, hrs.Round, saved, err)
	}
}

// voteHRS is where a vote stands in the signer's order.
func voteHRS(v *types.Vote) privval.HRS {
	step := privval.StepPrevote
	if v.Type == types.PrecommitType {
		step = privval.StepPrecommit
	}
	return privval.HRS{Height: v.Height, Round: v.Round, Step: step}
}
