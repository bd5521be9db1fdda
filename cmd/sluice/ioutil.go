package main

// maxInput bounds one message read from stdin.
const maxInput = 64 << 20
