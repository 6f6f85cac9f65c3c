// A sink whose valid comes from an uninitialized register: the handshake
// itself is x in a 4-state simulator.
module xvalid (
    input  wire       clk,
    output wire       out_valid,
    input  wire       out_ready,
    output wire [3:0] out_data
);
  reg v;
  assign out_valid = v;
  assign out_data  = 4'd5;
  always @(posedge clk) if (out_ready) v <= v;
endmodule
