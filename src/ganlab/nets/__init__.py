from ganlab.nets.dcgan import DCGANDiscriminator, DCGANGenerator, dcgan_init, stages_for

__all__ = ["DCGANDiscriminator", "DCGANGenerator", "dcgan_init", "stages_for"]
