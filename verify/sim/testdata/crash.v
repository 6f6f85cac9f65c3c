// Ends the simulation with $fatal once boom is set: a harness that dies in
// the middle of a run.
module crash (
    input  wire       clk,
    input  wire       boom,
    output reg  [3:0] q
);
  initial q = 4'd0;
  always @(posedge clk) begin
    q <= q + 4'd1;
    if (boom) $fatal(1, "boom at q=%0d", q);
  end
endmodule
