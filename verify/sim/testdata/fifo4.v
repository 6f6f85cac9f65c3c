// A valid/ready FIFO, 4 entries of 16 bits, no fall-through.
module fifo4 (
    input  wire        clk,
    input  wire        rst,
    input  wire        in_valid,
    output wire        in_ready,
    input  wire [15:0] in_data,
    output wire        out_valid,
    input  wire        out_ready,
    output wire [15:0] out_data
);
  reg [15:0] mem[0:3];
  reg [2:0] wp, rp;
  wire [2:0] used = wp - rp;
  assign in_ready  = used != 3'd4;
  assign out_valid = used != 3'd0;
  assign out_data  = mem[rp[1:0]];
  always @(posedge clk) begin
    if (rst) begin
      wp <= 3'd0;
      rp <= 3'd0;
    end else begin
      if (in_valid && in_ready) begin
        mem[wp[1:0]] <= in_data;
        wp <= wp + 3'd1;
      end
      if (out_valid && out_ready) rp <= rp + 3'd1;
    end
  end
endmodule
