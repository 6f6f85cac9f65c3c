// Wide ports: a 100-bit register, a 33-bit slice of it, a combinational
// 100-bit stream that adds one (the carry crosses 32-bit word boundaries) and
// a 4096-bit inverter.
module wide100 (
    input  wire         clk,
    input  wire [ 99:0] d,
    output reg  [ 99:0] q,
    output wire [ 32:0] q_hi,
    input  wire         in_valid,
    output wire         in_ready,
    input  wire [ 99:0] in_data,
    output wire         out_valid,
    input  wire         out_ready,
    output wire [ 99:0] out_data,
    input  wire [4095:0] huge_in,
    output wire [4095:0] huge_out
);
  assign q_hi      = q[99:67];
  assign out_valid = in_valid;
  assign in_ready  = out_ready;
  assign out_data  = in_data + 100'd1;
  assign huge_out  = ~huge_in;
  always @(posedge clk) q <= d;
endmodule
