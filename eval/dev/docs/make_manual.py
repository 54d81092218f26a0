"""Build manual.pdf (Nordvind AW-9 installation and safety manual) next to this script.

Run: /work/main/.venv/bin/python make_manual.py
Uses only the built-in Helvetica font, so all text must be Latin-1 (plain ASCII here).
"""

from pathlib import Path

from fpdf import FPDF

OUT = Path(__file__).resolve().parent / "manual.pdf"

# Each page is a list of blocks: ("h", heading) or ("p", paragraph).
PAGES = [
    [
        ("title", "Nordvind AW-9 Air-to-Water Heat Pump"),
        ("subtitle", "Installation and Safety Manual"),
        ("meta", "Revision 3, June 2024"),
        (
            "meta",
            "Issued by Nordvind Climate Systems AB, Technical Documentation Department, Gothenburg, Sweden",
        ),
        ("meta", "Document number NCS-IM-0419"),
        ("h", "1. About this manual"),
        (
            "p",
            "This manual applies to the outdoor monobloc unit AW-9 and its indoor control module CM-2. "
            "It is written for certified heating installers and must be handed over to the owner after "
            "commissioning. Revision 3 replaces Revision 2 from November 2022; the main changes are new "
            "clearance values in section 4 and the extended compressor warranty in section 10.",
        ),
        (
            "p",
            "Read the whole manual before starting work. Keep it near the indoor module for the lifetime "
            "of the installation, because service technicians will need the commissioning record on the "
            "last page.",
        ),
        ("h", "2. Safety information"),
        (
            "p",
            "The AW-9 contains 1.2 kg of the natural refrigerant R290 (propane), which is highly flammable. "
            "The refrigerant circuit is sealed at the factory and must never be opened on site. Only "
            "technicians holding a valid F-gas certificate for flammable refrigerants may carry out repairs "
            "on the refrigerant circuit.",
        ),
        (
            "p",
            "Keep open flames, sparks and other ignition sources at least 3 metres away from the outdoor unit "
            "during installation and service. Never install the unit in a pit, a light well or any hollow where "
            "leaked propane, which is heavier than air, could collect.",
        ),
        (
            "p",
            "Switch off the supply at the main breaker and wait at least 5 minutes before removing the service "
            "cover. The inverter capacitors keep a dangerous voltage for some time after the power is removed.",
        ),
    ],
    [
        ("h", "3. Technical data"),
        (
            "p",
            "The AW-9 delivers a nominal heating capacity of 9 kW at an outdoor temperature of 7 C and a flow "
            "temperature of 35 C. Under these conditions the coefficient of performance (COP) is 4.8. The unit "
            "keeps heating down to an outdoor temperature of -25 C and can supply flow water at up to 70 C, which "
            "makes it suitable for older radiator systems.",
        ),
        (
            "p",
            "The outdoor unit weighs 98 kg without packaging and measures 1,120 mm wide, 1,050 mm high and 480 mm "
            "deep. Its sound power level is 54 dB(A) in normal mode and 49 dB(A) in night mode, which limits the "
            "compressor speed between 22:00 and 06:00 by default.",
        ),
        (
            "p",
            "The package contains the outdoor unit, the CM-2 control module, an outdoor temperature sensor, four "
            "anti-vibration feet, two flexible hoses of 1 m each and this manual. Check the contents against "
            "the delivery note and report transport damage to the carrier within 7 days.",
        ),
        ("h", "4. Choosing the location"),
        (
            "p",
            "Place the unit where the fan can draw in and blow out air freely. Leave at least 300 mm between the "
            "back of the unit and the wall, 1,000 mm of free space in front of the fan outlet and 500 mm on each "
            "side for service access. Do not point the fan outlet towards a neighbour's bedroom window, and keep "
            "a distance of at least 2 m from windows and doors of your own house.",
        ),
        (
            "p",
            "In defrost mode the unit can release up to 20 litres of condensate water a day. Lead the condensate "
            "to a drain or a gravel bed that does not freeze, otherwise an ice layer can build up under the unit "
            "and block the evaporator. In coastal areas within 1 km of the sea, order the coated evaporator "
            "version AW-9C to prevent salt corrosion.",
        ),
    ],
    [
        ("h", "5. Mounting and hydraulic connection"),
        (
            "p",
            "Mount the unit on a concrete base at least 150 mm thick, or on the Nordvind wall bracket WB-100, which "
            "is rated for 150 kg. Raise the unit at least 200 mm above the expected snow depth so that snow "
            "cannot block the air inlet in winter.",
        ),
        (
            "p",
            "Connect the flow and return pipes with copper pipe of at least 28 mm outer diameter. The heating "
            "system must contain a minimum of 40 litres of circulating water; if it holds less, install a buffer "
            "tank, because a small water volume causes short compressor cycles and extra wear during defrost.",
        ),
        (
            "p",
            "Fill the system to a cold pressure of 1.5 bar. The safety valve in the CM-2 module opens at 3 bar. "
            "Fit the magnetic dirt filter supplied with the module on the return pipe, directly in front of the "
            "outdoor unit. Pipes running outdoors must be insulated with at least 19 mm of UV-resistant insulation.",
        ),
        ("h", "6. Electrical connection"),
        (
            "p",
            "The AW-9 runs on a single-phase 230 V, 50 Hz supply. Protect it with a dedicated 20 A type C circuit "
            "breaker and a 30 mA residual current device of type A. Use a cable with a cross-section of 3 x 4 mm2 "
            "for runs of up to 25 m between the distribution board and the outdoor unit.",
        ),
        (
            "p",
            "The communication cable between the outdoor unit and the CM-2 module must be a shielded twisted pair. "
            "It may be up to 50 m long and must be laid at least 100 mm apart from mains cables to avoid "
            "interference. All electrical work must be done by a qualified electrician in line with local rules.",
        ),
    ],
    [
        ("h", "7. Commissioning"),
        (
            "p",
            "Before switching on for the first time, bleed the air from the heating circuit and check that all "
            "valves are open. Switch on the breaker and wait for the CM-2 display to show the start screen. The "
            "first start-up runs an automatic self-test of about 10 minutes, during which the circulation pump "
            "runs at full speed and the compressor stays off.",
        ),
        (
            "p",
            "After the self-test, enter the installer menu with code 2417 and set the heating curve. For floor "
            "heating, start with curve 0.4; for radiators, start with curve 1.0. Record the settings, the system "
            "pressure and the serial number in the commissioning record at the end of this manual, and sign it "
            "together with the owner.",
        ),
        ("h", "8. Domestic hot water"),
        (
            "p",
            "The AW-9 can also heat domestic hot water when the CM-2 module is connected to a Nordvind cylinder "
            "of at least 180 litres. The factory setting for the hot water temperature is 50 C. Once a week the "
            "anti-legionella programme raises the cylinder to 65 C with the built-in 3 kW immersion heater; by "
            "default it starts on Sunday at 03:00, when hot water is rarely drawn.",
        ),
        ("h", "9. Maintenance"),
        (
            "p",
            "The owner should check the outdoor unit once a month in winter and remove leaves, snow and ice from "
            "the evaporator fins. Clean the magnetic dirt filter every 6 months, and check the system pressure "
            "on the CM-2 display; it should not fall below 1.0 bar.",
        ),
        (
            "p",
            "A certified installer must inspect the unit once a year. The annual inspection includes a leak "
            "test with an electronic propane detector, a check of the electrical connections and a cleaning of "
            "the condensate drain. Missed annual inspections void the extended warranty.",
        ),
        (
            "p",
            "Never clean the fins with a high-pressure washer, because the thin aluminium fins bend easily and "
            "the airflow drops. Use a soft brush or a garden hose at low pressure instead.",
        ),
    ],
    [
        ("h", "10. Warranty"),
        (
            "p",
            "Nordvind grants an extended warranty of 7 years on the compressor and 5 years on the inverter board, "
            "counted from the date of commissioning. The extended warranty only applies if the installation is "
            "registered at nordvind.se/register within 60 days of commissioning. Labour costs for warranty repairs "
            "are covered during the first 12 months.",
        ),
        (
            "p",
            "The extended warranty covers only the compressor and the inverter board. The terms for all other "
            "components are set out in the separate warranty card supplied in the box. Damage caused by frost, "
            "lightning, incorrect water quality or repairs by non-certified persons is not covered.",
        ),
        ("h", "11. Fault codes"),
        (
            "p",
            "Code E03 means that the water flow is too low. Check that the dirt filter is clean and that the "
            "valves are open. Code E07 indicates that the outdoor temperature sensor is disconnected or faulty; "
            "the unit then continues at a fixed flow temperature of 45 C until the sensor is replaced.",
        ),
        (
            "p",
            "Code E12 signals a high-pressure fault in the refrigerant circuit. After three E12 faults within "
            "24 hours the unit locks itself and can only be reset by a service technician. Code E21 indicates a "
            "communication error between the outdoor unit and the CM-2 module.",
        ),
        ("h", "12. Disposal"),
        (
            "p",
            "At the end of its service life the unit must not be put in household waste. The propane charge has "
            "to be recovered by a certified refrigeration company before the unit is dismantled. Nordvind takes "
            "back old AW-series units free of charge in Sweden, Norway and Finland through its dealer network.",
        ),
        ("h", "13. Contact"),
        (
            "p",
            "Technical support for installers is available by telephone on +46 31 555 0190, Monday to Friday "
            "from 07:00 to 17:00 Central European Time. This revision was approved by Ingrid Sandberg, Head of "
            "Product Safety at Nordvind Climate Systems AB.",
        ),
    ],
]


class ManualPDF(FPDF):
    def footer(self):
        self.set_y(-15)
        self.set_font("helvetica", "I", 8)
        self.cell(0, 5, f"NCS-IM-0419 Rev. 3 - page {self.page_no()}", align="C")


def build(path=OUT):
    pdf = ManualPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_margins(20, 20, 20)
    pdf.set_title("Nordvind AW-9 Installation and Safety Manual")
    pdf.set_author("Nordvind Climate Systems AB")
    for page in PAGES:
        pdf.add_page()
        for kind, text in page:
            if kind == "title":
                pdf.set_font("helvetica", "B", 18)
                pdf.multi_cell(0, 10, text, new_x="LMARGIN", new_y="NEXT")
            elif kind == "subtitle":
                pdf.set_font("helvetica", "B", 14)
                pdf.multi_cell(0, 9, text, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(2)
            elif kind == "meta":
                pdf.set_font("helvetica", "", 11)
                pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
            elif kind == "h":
                pdf.ln(4)
                pdf.set_font("helvetica", "B", 13)
                pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(1)
            else:
                pdf.set_font("helvetica", "", 11)
                pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(2)
    pdf.output(str(path))


if __name__ == "__main__":
    build()
    print(f"wrote {OUT}")
