// An 8-bit counter with enable and synchronous load.
module counter8 (
    input  wire       clk,
    input  wire       rst,
    input  wire       en,
    input  wire       load,
    input  wire [7:0] load_val,
    output reg  [7:0] count,
    output wire       at_max
);
  assign at_max = count == 8'hff;
  always @(posedge clk) begin
    if (rst) count <= 8'd0;
    else if (load) count <= load_val;
    else if (en) count <= count + 8'd1;
  end
endmodule
