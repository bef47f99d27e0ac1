package mqttbridge

import "sync"

// message is one publish waiting for the broker.
type message struct {
	topic   string
	payload []byte
	retain  bool
	kind    string // event, result: for the metrics
	n       uint64 // the queue's number of it
}

// queue is the bounded FIFO of messages waiting for the broker. When it
// is full, a push drops the oldest message (the newest events matter
// most to a home automation) and reports it.
type queue struct {
	mu    sync.Mutex
	items []message // items[head:] in order; compacted when half is spent
	head  int
	max   int
	next  uint64
}

func newQueue(max int) *queue { return &queue{max: max} }

// push appends m; it returns the message dropped to make room, if any.
func (q *queue) push(m message) (dropped *message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items)-q.head >= q.max {
		d := q.items[q.head]
		q.items[q.head] = message{}
		q.head++
		dropped = &d
	}
	if q.head > 0 && q.head >= len(q.items)/2 {
		n := copy(q.items, q.items[q.head:])
		clear(q.items[n:])
		q.items, q.head = q.items[:n], 0
	}
	q.next++
	m.n = q.next
	q.items = append(q.items, m)
	return dropped
}

// peek returns the oldest message without removing it.
func (q *queue) peek() (message, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head == len(q.items) {
		return message{}, false
	}
	return q.items[q.head], true
}

// pop removes m, the oldest message that peek returned, unless a push
// dropped it meanwhile.
func (q *queue) pop(m message) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.head < len(q.items) && q.items[q.head].n == m.n {
		q.items[q.head] = message{}
		q.head++
	}
}

// len is the number of waiting messages.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) - q.head
}
