// A register that is never reset or initialized: in a 4-state simulator its
// output and the sink payload it drives are x.
module xreg (
    input  wire       clk,
    output wire [3:0] q,
    output wire       out_valid,
    input  wire       out_ready,
    output wire [3:0] out_data
);
  reg [3:0] r;
  assign q         = r;
  assign out_valid = 1'b1;
  assign out_data  = r;
  always @(posedge clk) if (out_ready) r <= r + 4'd1;
endmodule
