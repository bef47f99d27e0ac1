package device

// message kinds in a store
type msgKind int

const (
	kindDeliver msgKind = iota // SMS-DELIVER received
	kindSubmit                 // SMS-SUBMIT written with +CMGW
	kindStatus                 // SMS-STATUS-REPORT
)

// Message status values (27.005 <stat>).
const (
	statRecUnread = 0
	statRecRead   = 1
	statStoUnsent = 2
	statStoSent   = 3
)

// storedMsg is one occupied location of a store.
type storedMsg struct {
	kind msgKind
	stat int
	sca  []byte // the SMSC part as the modem shows it (length octet first)
	tpdu []byte
}

// store is a message store with fixed capacity ("SM", "ME", "SR").
// Indices are 0-based, as on Qualcomm-based ZTE and Huawei sticks.
type store struct {
	name  string
	slots []*storedMsg
}

func newStore(name string, capacity int) *store {
	return &store{name: name, slots: make([]*storedMsg, capacity)}
}

// used counts occupied locations.
func (st *store) used() int {
	n := 0
	for _, m := range st.slots {
		if m != nil {
			n++
		}
	}
	return n
}

// capacity is the number of locations.
func (st *store) capacity() int { return len(st.slots) }

// add stores m in the first free location and returns its index, or -1 if
// the store is full.
func (st *store) add(m *storedMsg) int {
	for i, x := range st.slots {
		if x == nil {
			st.slots[i] = m
			return i
		}
	}
	return -1
}

// get returns the message at index i, nil if empty; ok is false if i is out
// of range.
func (st *store) get(i int) (m *storedMsg, ok bool) {
	if i < 0 || i >= len(st.slots) {
		return nil, false
	}
	return st.slots[i], true
}

// remove empties location i.
func (st *store) remove(i int) {
	if i >= 0 && i < len(st.slots) {
		st.slots[i] = nil
	}
}
