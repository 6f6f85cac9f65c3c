// Package hdl is tpugen's embedded hardware description language: typed,
// width-checked expressions, signals, modules, memories, instances and
// valid/ready streams, built with explicit builder values.
//
// Width rules (every result shape is exact, nothing is silently lost):
//
//	a.Add(b), a.Sub(b)   max(wa, wb)+1 bits; operands must agree in signedness
//	a.Mul(b)             wa+wb bits; operands must agree in signedness
//	a.Neg()              wa+1 bits, signed
//	And/Or/Xor           operands must have identical shapes; result has that shape
//	Not                  shape of a
//	Shl(k), Shr(k)       constant shifts: wa+k and wa-k bits (Shr of a signed value is arithmetic)
//	ShlBy(s), ShrBy(s)   shifts by a signal amount: wa bits (bits shifted out are lost by design)
//	Eq/Ne/Lt/Le/Gt/Ge    1 bit unsigned; operands must agree in signedness
//	Slice(hi, lo)        hi-lo+1 bits unsigned; Bit(i) is Slice(i, i)
//	Cat(parts...)        sum of widths, unsigned, first part in the most significant bits
//	Repl(n)              n*wa bits unsigned
//	Mux(sel, a, b)       max(wa, wb) bits; sel must be 1 bit; a and b must agree in signedness
//	SExt, ZExt, Ext      widen to n >= wa bits (sign-fill, zero-fill, fill per the operand's sign);
//	                     n < wa is an error
//	Trunc(n)             keep the low n bits, 1 <= n <= wa, same signedness; n > wa is an error
//	AsSigned/AsUnsigned  reinterpret the bits
//	AnyBits/AllBits/XorBits  reductions, 1 bit
//	MulAcc(acc, a, b)    acc + a*b wrapped to acc's shape (a fused multiply-accumulate)
//
// Assigning an expression to a signal of a different shape is an error: widen or
// narrow explicitly. Errors record the caller's file:line; builders collect them
// and Elaborate returns them all together with the check-pass diagnostics.
//
// hdl knows nothing about Verilog text (gen prints it), blocks, or verification.
package hdl
